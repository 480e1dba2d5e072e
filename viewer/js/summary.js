/* summary.js - the top of the page: what ran, for how long, the heap totals (allocated,
 * peak with its time, leaked, rate), and the real-time violations, worst first, each
 * with its stack. Every value from the file is shown as text. */
(function (AP) {
'use strict';

const U = AP.util;
const P = AP.profile;
const el = U.el;
const S = AP.summary = {};

/* One card: a title, a big human-readable value, and an exact line (which the tests
 * compare with the JSON: element id `id`, data-value the raw number). */
function card(id, title, big, exact, raw, cls) {
  return el('div', { class: 'card' + (cls ? ' ' + cls : ''), id: id },
    el('div', { class: 'card-title' }, title),
    el('div', { class: 'card-big' }, big),
    el('div', { class: 'card-exact', dataset: raw === undefined ? undefined : { value: raw } }, exact));
}

/* The summary cards. */
S.render = function (m) {
  const t = m.totals;
  const secs = m.tu === 'ns' ? m.te / 1e9 : NaN;
  U.$('sum-cmd').textContent = m.cmd ? m.cmd : '(no command line in the file)';
  const box = U.clear(U.$('sum-cards'));
  const ap = m.ap || {};
  const reason = U.str(ap.reason);
  const atEnd = reason === 'snapshot' ? 'Live at the snapshot' : reason === 'exit' || reason === '' ? 'Leaked at exit' : 'Live at ' + reason;

  box.appendChild(card('sum-duration', 'Duration', P.fmtTime(m, m.te),
    [Number.isFinite(m.pid) ? 'pid ' + m.pid : '', reason ? 'written at ' + reason +
      (ap.signal ? ' (signal ' + U.fmtInt(U.num(ap.signal, 0)) + ')' : '') : '']
      .filter(Boolean).join(' · '), m.te));
  box.appendChild(card('sum-total', 'Allocated', U.fmtBytes(t.total_b),
    U.fmtInt(t.total_b) + ' B in ' + U.plural(t.total_k, 'block'), t.total_b));
  box.appendChild(card('sum-peak', 'Peak live', U.fmtBytes(t.max_b),
    U.fmtInt(t.max_b) + ' B in ' + U.plural(t.max_k, 'block') + ' at ' + P.fmtTime(m, m.tg), t.max_b));
  /* Leaks `audioprof view` suppressed (the C and C++ runtimes' own, by default) are
   * not counted, as in `audioprof report`; the card says how much and why. */
  const sup = AP.suppressed || {};
  const supB = U.num(sup.leaked_bytes, 0), supK = U.num(sup.leaked_blocks, 0);
  const leakB = t.curr_b - supB, leakK = t.curr_k - supK;
  box.appendChild(card('sum-leaked', atEnd, U.fmtBytes(leakB),
    U.fmtInt(leakB) + ' B in ' + U.plural(leakK, 'block') +
      (supB > 0 ? ' · ' + U.fmtInt(supB) + ' B in ' + U.plural(supK, 'block') + ' suppressed (' +
        U.str(sup.rules) + ')' : ''), leakB,
    leakB > 0 && (reason === 'exit' || reason === '') ? 'warn' : ''));
  if (secs > 0)
    box.appendChild(card('sum-rate', 'Allocation rate', U.fmtCount(t.total_k / secs) + ' blocks/s',
      U.fmtBytes(t.total_b / secs) + '/s', Math.round(t.total_k / secs)));
  box.appendChild(card('sum-sites', 'Allocation sites', U.fmtInt(m.npps),
    U.fmtInt(m.ftbl.length) + ' distinct frames, stacks up to ' + m.maxDepth, m.npps));

  if (m.ap) {
    const nv = m.violations.filter((v, i) => v.severity !== 'warning' && !v.library && !S.suppressed(i))
      .reduce((a, v) => a + v.count, 0);
    const ncb = m.callbacks.reduce((a, c) => a + U.num(c.count, 0), 0);
    const over = m.callbacks.reduce((a, c) => a + U.num(c.overruns, 0), 0);
    box.appendChild(card('sum-rt', 'Real-time violations', U.fmtInt(nv),
      U.fmtInt(ncb) + ' callbacks, ' + U.fmtInt(over) + ' overruns', nv, nv > 0 || over > 0 ? 'bad' : 'good'));
    const rss = U.num(ap.peak_rss, NaN);
    const own = U.num(ap.own_bytes, NaN);
    box.appendChild(card('sum-process', 'Peak RSS', U.fmtBytes(rss),
      [Number.isFinite(own) ? 'profiler used ' + U.fmtBytes(own) : '',
        Number.isFinite(U.num(ap.threads, NaN)) ? U.plural(ap.threads, 'thread') + ' allocated' : '']
        .filter(Boolean).join(' · '), rss));
  }
};

/* ------------------------------------------------------------------ stacks */

/* A stack (ftbl indices, innermost first) as DHAT-style "at"/"by" lines; the first
 * `shown` frames, then a button that shows the rest. */
S.stack = function (m, fs, shown) {
  const list = el('ol', { class: 'stack' });
  const add = (from, to) => {
    for (let k = from; k < to; k++) {
      const f = P.frame(m, fs[k]);
      list.appendChild(el('li', { class: 'fr-' + f.kind, title: m.ftbl[fs[k]] },
        el('span', { class: 'at' }, k === 0 ? 'at' : 'by'), ' ',
        el('span', { class: 'fn' }, U.frameName(f)),
        f.loc || f.module ? el('span', { class: 'where' }, ' ' + (f.loc || 'in ' + f.module)) : null));
    }
  };
  const first = Math.min(fs.length, shown || 12);
  add(0, first);
  if (first < fs.length) {
    const more = el('li', { class: 'more' });
    more.appendChild(el('button', {
      type: 'button',
      on: { click: () => { list.removeChild(more); add(first, fs.length); } },
    }, 'show ' + U.plural(fs.length - first, 'more frame')));
    list.appendChild(more);
  }
  return list;
};

/* ------------------------------------------------------------------ violations */

/* Whether violation i (its index in the file) was suppressed by `audioprof view`. */
S.suppressed = function (i) {
  const sup = AP.suppressed;
  return !!(sup && Array.isArray(sup.violations) && sup.violations.indexOf(i) >= 0);
};

S.renderViolations = function (m) {
  const box = U.clear(U.$('violations'));
  if (!m.ap || !Array.isArray(m.ap.callbacks)) {
    box.appendChild(el('p', { class: 'none' },
      'This profile has no audio data (a plain DHAT file, or written before audioprof recorded callbacks).'));
    return;
  }
  if (m.violations.length === 0) {
    box.appendChild(el('p', { class: 'none good' }, m.callbacks.length
      ? 'No real-time violations: no callback allocated, locked, slept or did I/O.'
      : 'No callbacks or real-time regions were seen, so nothing could be checked.'));
  }
  /* The program's violations, then its warnings, then suppressed ones, then the calls
   * made inside an audio library's own API (not the program's); the longest time inside
   * first, then the most frequent. */
  const rank = (v) => (v.library ? 3 : v.sup ? 2 : v.severity === 'warning' ? 1 : 0);
  const vs = m.violations.map((v, i) => Object.assign({ sup: S.suppressed(i) }, v)).sort((a, b) =>
    rank(a) - rank(b) || b.time - a.time || b.count - a.count || b.bytes - a.bytes);
  vs.forEach((v, i) => {
    const cb = v.callback >= 0 && v.callback < m.callbacks.length ? m.callbacks[v.callback] : null;
    const warn = v.severity === 'warning' || !!v.library;
    box.appendChild(el('div', { class: 'violation' + (warn ? ' warning' : '') + (v.sup ? ' suppressed' : ''), id: 'violation-' + i },
      el('div', { class: 'v-head' },
        el('span', { class: 'badge kind-' + (/^[a-z]+$/.test(v.kind) ? v.kind : 'other') }, v.kind || '?'),
        el('span', { class: 'v-call' }, v.call || '?'), ' ',
        el('span', { class: 'v-count', dataset: { value: v.count } }, '× ' + U.fmtInt(v.count)),
        v.bytes ? el('span', { class: 'v-bytes' }, ' · ' + U.fmtInt(v.bytes) + ' B') : null,
        v.time >= 0 ? el('span', { class: 'v-time', dataset: { value: v.time, max: v.timeMax } },
          ' · ' + U.fmtNs(v.time) + ' inside, longest ' + U.fmtNs(v.timeMax)) : null,
        cb ? el('span', { class: 'v-cb' }, ' · in ' + U.str(cb.api) + ' callback "' + U.str(cb.name) + '"') : null,
        v.library ? el('span', { class: 'v-sev' }, ' · inside ' + v.library + ' (the library\'s, not counted)')
          : warn ? el('span', { class: 'v-sev' }, ' · warning') : null,
        v.sup ? el('span', { class: 'v-sup' }, ' · suppressed') : null),
      v.fs.length ? S.stack(m, v.fs, 10) : el('p', { class: 'none' }, '(no stack)')));
  });
  if (m.violationsLost > 0)
    box.appendChild(el('p', { class: 'warn-text' }, U.plural(m.violationsLost, 'violation') +
      ' could not be recorded (the violation table was full).'));
};

})(window.AP = window.AP || {});
