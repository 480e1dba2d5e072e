/* open.js - where a profile comes from: the profile `audioprof view` embedded in the
 * page (#audioprof-data), a ?url= parameter (same origin only), the file picker, or a
 * file dropped on the page. Each source hands the text and a name to the `onText`
 * callback given to AP.open.init. No request leaves the page's own origin; from
 * file:// Chromium refuses fetch() of other files, so ?url= needs a local server there
 * (python3 -m http.server) and the picker or drag and drop works everywhere. */
(function (AP) {
'use strict';

const U = AP.util;
const O = AP.open = {};

let onText = null;     /* (text, name) => void */
let onError = null;    /* (message) => void */
let onBusy = null;     /* (message) => void: a load started */

/* Reads a File (picker or drop). */
function readFile(file) {
  if (!file) return;
  onBusy('Reading ' + file.name + ' (' + U.fmtBytes(file.size) + ')…');
  AP.suppressed = null;   /* the embedded profile's marks are not this file's */
  file.text().then((t) => onText(t, file.name), (e) => onError(file.name + ': ' + e.message));
}

/* ?url=: fetch a profile from the page's own origin (or, from file://, a file URL,
 * which only works when the browser allows it). */
function fromUrlParam() {
  const q = new URLSearchParams(location.search).get('url');
  if (!q) return false;
  let u;
  try {
    u = new URL(q, location.href);
  } catch (e) {
    onError('?url=' + q + ': not a URL');
    return true;
  }
  const sameOrigin = u.protocol === 'file:' ? location.protocol === 'file:' : u.origin === location.origin;
  if (!sameOrigin) {
    onError('?url=' + q + ': only profiles from this page\'s own origin are loaded');
    return true;
  }
  const name = decodeURIComponent(u.pathname.split('/').pop() || q);
  onBusy('Fetching ' + name + '…');
  fetch(u.href).then((r) => {
    if (!r.ok) throw new Error('HTTP ' + r.status);
    return r.text();
  }).then((t) => onText(t, name), (e) => {
    let msg = name + ': cannot fetch: ' + e.message;
    if (location.protocol === 'file:')
      msg += ' (browsers refuse fetch() between file:// pages: serve the directory, ' +
             'e.g. python3 -m http.server, or use "Open profile…")';
    onError(msg);
  });
  return true;
}

/* The profile embedded by `audioprof view`: JSON text in a non-executing script
 * element, with "<" written as \u003c so that it cannot end the element. */
function fromEmbedded() {
  const node = U.$('audioprof-data');
  const text = node ? node.textContent : '';
  if (!/\S/.test(text)) return false;
  const name = node.dataset.name || 'embedded profile';
  /* What `audioprof view` suppressed (its data-suppressed attribute): the runtimes'
   * own leaks and the rules of --suppressions files. summary.js marks them. */
  AP.suppressed = null;
  try {
    const sup = node.dataset.suppressed ? JSON.parse(node.dataset.suppressed) : null;
    if (sup && typeof sup === 'object') AP.suppressed = sup;
  } catch (e) { /* an unreadable mark is no mark */ }
  /* Let the page paint "Loading" before a large parse. */
  onBusy('Loading ' + name + '…');
  setTimeout(() => onText(text, name), 0);
  return true;
}

/* Drag and drop anywhere on the page. */
function initDrop() {
  const overlay = U.$('drop-overlay');
  let depth = 0;
  const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files');
  document.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    overlay.hidden = false;
  });
  document.addEventListener('dragleave', () => {
    if (depth > 0 && --depth === 0) overlay.hidden = true;
  });
  document.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    overlay.hidden = true;
    readFile(e.dataTransfer.files[0]);
  });
}

/* Sets up every source and loads the first profile there is (embedded, then ?url=). */
O.init = function (handlers) {
  onText = handlers.onText;
  onError = handlers.onError;
  onBusy = handlers.onBusy;
  const input = U.$('file-input');
  input.addEventListener('change', () => {
    readFile(input.files[0]);
    input.value = '';   /* choosing the same file again reloads it */
  });
  initDrop();
  return fromEmbedded() || fromUrlParam();
};

})(window.AP = window.AP || {});
