/* main.js - the page's life: wait for a profile (open.js), parse it (profile.js),
 * render every view in turn, and report the time each step took. window.AP.state
 * tells the browser tests when the page is done: {status: 'empty' | 'loading' |
 * 'ready' | 'error', error, timings}. */
(function (AP) {
'use strict';

const U = AP.util;
const state = AP.state = { status: 'empty', error: null, timings: {}, name: null };

function setStatus(text, cls) {
  const s = U.$('status');
  s.textContent = text || '';
  s.className = cls || '';
  s.hidden = !text;
}

function busy(text) {
  state.status = 'loading';
  setStatus(text, 'busy');
}

function error(text) {
  state.status = 'error';
  state.error = text;
  setStatus(text, 'error');
}

/* Runs fn and records how long it took under `name`. */
function timed(name, fn) {
  const t0 = performance.now();
  fn();
  state.timings[name] = Math.round(performance.now() - t0);
}

/* Parses the text and renders the views one after the other, yielding to the browser
 * in between so that the top of the page shows while the rest is built. */
function load(text, name) {
  state.timings = {};
  state.name = name;
  const t0 = performance.now();
  let m;
  try {
    timed('parse', () => { m = AP.profile.fromText(text, name); });
  } catch (e) {
    error(e.message);
    return;
  }
  text = null;
  U.$('main').hidden = false;
  U.$('nav').hidden = false;
  U.$('loaded-name').textContent = name;
  U.$('loaded-name').title = m.cmd;
  document.title = name + ' – audioprof';
  const steps = [
    ['summary', () => { AP.summary.render(m); AP.summary.renderViolations(m); }],
    ['callbacks', () => AP.audio.render(m)],
    ['timeline', () => AP.timeline.render(m)],
    ['tree', () => AP.tree.render(m)],
    ['flame', () => AP.flame.render(m)],
  ];
  const next = (k) => {
    if (k === steps.length) {
      state.timings.total = Math.round(performance.now() - t0);
      const t = state.timings;
      U.$('timings').textContent = 'Loaded ' + U.plural(m.npps, 'site') + ' in ' + t.total + ' ms (parse ' + t.parse +
        ', summary ' + t.summary + ', callbacks ' + t.callbacks + ', timeline ' + t.timeline + ', tree ' + t.tree +
        ', flame graph ' + t.flame + ' ms).';
      setStatus('');
      state.status = 'ready';
      return;
    }
    try {
      timed(steps[k][0], steps[k][1]);
    } catch (e) {
      error(name + ': cannot show the ' + steps[k][0] + ': ' + e.message);
      return;
    }
    setTimeout(() => next(k + 1), 0);
  };
  next(0);
}

function init() {
  const started = AP.open.init({ onText: load, onError: error, onBusy: busy });
  if (!started) setStatus('Open a profile written by audioprof (or by valgrind --tool=dhat) to look at it.', 'hello');
  let w = window.innerWidth;
  window.addEventListener('resize', U.throttleFrame(() => {
    if (window.innerWidth === w) return;
    w = window.innerWidth;
    AP.timeline.resize();
    AP.flame.resize();
  }));
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();

})(window.AP = window.AP || {});
