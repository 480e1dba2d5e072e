/* util.js - helpers every view shares: building DOM nodes from text only (a profile's
 * strings never pass through an HTML parser), number, size and time formatting, and
 * parsing DHAT frame strings. Everything lives in the AP namespace (no modules: the
 * page must work from file://, where Chromium refuses to load ES modules). */
(function (AP) {
'use strict';

const U = AP.util = {};
const SVG_NS = 'http://www.w3.org/2000/svg';

/* ------------------------------------------------------------------ DOM */

/* Sets attributes on node n from object a. 'text' sets textContent, 'dataset' an
 * object of data-* values, 'on' an object of event listeners; everything else is
 * setAttribute (never an on* attribute: those would run code). */
function setAttrs(n, a) {
  if (!a) return;
  for (const k of Object.keys(a)) {
    const v = a[k];
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') n.textContent = String(v);
    else if (k === 'dataset') for (const d of Object.keys(v)) n.dataset[d] = String(v[d]);
    else if (k === 'on') for (const e of Object.keys(v)) n.addEventListener(e, v[e]);
    else if (/^on/i.test(k)) throw new Error('event handler attributes are not allowed: ' + k);
    else n.setAttribute(k, v === true ? '' : String(v));
  }
}

/* Appends children: nodes as they are, strings and numbers as text nodes. */
function append(n, kids) {
  for (const c of kids) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(n, c);
    else if (typeof c === 'object') n.appendChild(c);
    else n.appendChild(document.createTextNode(String(c)));
  }
  return n;
}

/* el('div', {class: 'x'}, 'text', otherNode, ...): an HTML element. */
U.el = function (tag, attrs, ...kids) {
  const n = document.createElement(tag);
  setAttrs(n, attrs);
  return append(n, kids);
};

/* svg('rect', {x: 1, ...}, ...): an SVG element. */
U.svg = function (tag, attrs, ...kids) {
  const n = document.createElementNS(SVG_NS, tag);
  setAttrs(n, attrs);
  return append(n, kids);
};

U.append = function (n, ...kids) { return append(n, kids); };

U.clear = function (n) {
  while (n.firstChild) n.removeChild(n.firstChild);
  return n;
};

U.$ = function (id) { return document.getElementById(id); };

/* ------------------------------------------------------------------ numbers */

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/* 1234567 -> "1,234,567" (exact; the form the tests compare with the JSON). */
U.fmtInt = function (n) {
  return Number.isFinite(n) ? intFmt.format(n) : '–';
};

/* A number with about three significant digits: 3.14, 31.4, 314. */
function sig3(x) {
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/* Bytes in binary units: "512 B", "1.50 KiB", "12.3 MiB". */
U.fmtBytes = function (n) {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let x = Math.abs(n), i = 0;
  while (x >= 1024 && i < units.length - 1) { x /= 1024; i++; }
  return (n < 0 ? '-' : '') + (i === 0 ? String(x) : sig3(x)) + ' ' + units[i];
};

/* A count in short form: 950, 12.3k, 4.56M. */
U.fmtCount = function (n) {
  if (!Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a < 10000) return intFmt.format(n);
  if (a < 1e6) return sig3(n / 1e3) + 'k';
  if (a < 1e9) return sig3(n / 1e6) + 'M';
  return sig3(n / 1e9) + 'G';
};

/* Nanoseconds as a readable duration: "850 ns", "12.3 µs", "10.7 ms", "2.50 s". */
U.fmtNs = function (ns) {
  if (!Number.isFinite(ns)) return '–';
  const a = Math.abs(ns);
  if (a < 1e3) return ns.toFixed(0) + ' ns';
  if (a < 1e6) return sig3(ns / 1e3) + ' µs';
  if (a < 1e9) return sig3(ns / 1e6) + ' ms';
  if (a < 600e9) return sig3(ns / 1e9) + ' s';
  const s = Math.round(ns / 1e9);
  return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
};

/* A percentage: 0.0%, 4.2%, 33%. */
U.fmtPct = function (x) {
  if (!Number.isFinite(x)) return '–';
  return (x < 10 ? x.toFixed(1) : x.toFixed(0)) + '%';
};

/* part / whole as a percentage string ("" when whole is 0). */
U.share = function (part, whole) {
  return whole > 0 ? U.fmtPct(100 * part / whole) : '';
};

/* "1 site" / "2 sites". */
U.plural = function (n, one, many) {
  return U.fmtInt(n) + ' ' + (n === 1 ? one : (many || one + 's'));
};

/* A non-negative finite number from a JSON field, else `dflt`. */
U.num = function (v, dflt) {
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
};

/* A string from a JSON field, else "". */
U.str = function (v) {
  return typeof v === 'string' ? v : '';
};

/* "Nice" axis ticks from 0: about `want` steps of 1, 2 or 5 x 10^k (or powers of two
 * times 1024^k for bytes), up to max, or up to the first tick at or above max when
 * `cover` is set (an axis that must hold every value). */
U.ticks = function (max, want, binary, cover) {
  if (!(max > 0)) return [0];
  const raw = max / want;
  let step;
  if (binary && raw >= 1024) {
    let p = 1;
    while (p * 1024 <= raw) p *= 1024;
    const m = raw / p;
    step = p * (m <= 1 ? 1 : m <= 2 ? 2 : m <= 4 ? 4 : m <= 8 ? 8 : m <= 16 ? 16 :
                m <= 32 ? 32 : m <= 64 ? 64 : m <= 128 ? 128 : m <= 256 ? 256 : 512);
  } else {
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const m = raw / p;
    step = p * (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10);
  }
  const out = [];
  for (let v = 0; v <= max * 1.0001 && out.length < 100; v += step) out.push(v);
  if (cover && out[out.length - 1] < max) out.push(out[out.length - 1] + step);
  return out;
};

/* ------------------------------------------------------------------ frames */

/* Parses a DHAT frame string:
 *   "0x4011A6: grain_new (grain.c:41)"            -> func grain_new, loc grain.c:41
 *   "0x7F3A2C1D40A1: foo+0x1f (in /usr/lib/libfoo.so.1)" -> func foo, module ...
 *   "0x7F3A2C1D40A1: ??? (in /usr/lib/libstripped.so)"
 *   "[root]", "[audioprof: site table full]"
 * Returns {addr, func, loc, module, kind} where kind is 'alloc' (the allocation
 * function of the profiler or of valgrind), 'lib' (a function known only by its
 * module), 'src' (with a source location) or 'other'. Never throws. */
U.parseFrame = function (s) {
  s = U.str(s);
  const f = { addr: '', func: s, loc: '', module: '', kind: 'other' };
  const m = /^(0x[0-9A-Fa-f]+):\s*/.exec(s);
  if (!m) return f;
  f.addr = m[1];
  let rest = s.slice(m[0].length);
  if (rest.endsWith(')')) {
    const open = rest.lastIndexOf(' (');
    if (open > 0) {
      const inner = rest.slice(open + 2, -1);
      rest = rest.slice(0, open);
      if (inner.startsWith('in ')) f.module = inner.slice(3);
      else f.loc = inner;
    }
  }
  f.func = rest.replace(/\+0x[0-9a-fA-F]+$/, '') || '???';
  if (/libaudioprof\.so|vgpreload_/.test(f.module)) f.kind = 'alloc';
  else if (f.loc) f.kind = 'src';
  else if (f.module) f.kind = 'lib';
  return f;
};

/* The base name of a path: "/usr/lib/libfoo.so.1" -> "libfoo.so.1". */
U.basename = function (p) {
  const i = p.lastIndexOf('/');
  return i >= 0 ? p.slice(i + 1) : p;
};

/* The short name of a frame for flame graphs and tree rows: the function, or
 * "[libfoo.so]" for an unnamed function in a module. */
U.frameName = function (f) {
  if (f.func === '???' && f.module) return '[' + U.basename(f.module) + ']';
  return f.func;
};

/* Where a frame is: "grain.c:41" or "libfoo.so.1". */
U.frameWhere = function (f) {
  if (f.loc) return f.loc;
  return f.module && f.func !== '???' ? U.basename(f.module) : '';
};

/* ------------------------------------------------------------------ misc */

/* Calls fn at most once per animation frame (for resize and mousemove). */
U.throttleFrame = function (fn) {
  let pending = false, lastArgs = null;
  return function (...args) {
    lastArgs = args;
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; fn(...lastArgs); });
  };
};

/* A stable colour hue (0..1) for a string. */
U.hash01 = function (s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return ((h >>> 0) % 1000) / 1000;
};

})(window.AP = window.AP || {});
