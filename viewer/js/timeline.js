/* timeline.js - heap usage over time from audioprof.timeline: the live bytes the
 * program asked for, the bytes glibc's allocator has in use (mallinfo2), the heap it
 * obtained from the system, and the allocator's overhead in percent, as an SVG chart
 * with a readout that follows the pointer. Below it, on the same time axis, each
 * callback source's load over the same intervals (mean and max in % of its deadline)
 * and its kept overruns, so that trouble in the callbacks lines up with the heap. */
(function (AP) {
'use strict';

const U = AP.util;
const el = U.el;
const svg = U.svg;
const T = AP.timeline = {};

/* The series drawn, bottom layer first. */
const SERIES = [
  { key: 'heap_b', label: 'heap from the system', cls: 'heap' },
  { key: 'used_b', label: 'in use by the allocator', cls: 'used' },
  { key: 'live_b', label: 'live (requested)', cls: 'live' },
];

let model = null;

/* Overhead of sample i in percent: (used - live) / used. */
function overhead(tl, i) {
  const used = tl.used_b[i];
  return used > 0 ? 100 * Math.max(0, used - tl.live_b[i]) / used : 0;
}

function readout(tl, i) {
  const box = U.clear(U.$('timeline-readout'));
  if (i < 0) {
    const peak = tl.live_b.reduce((a, b) => Math.max(a, b), 0);
    let ovMax = 0;
    for (let k = 0; k < tl.length; k++) ovMax = Math.max(ovMax, overhead(tl, k));
    U.append(box, U.plural(tl.length, 'sample') + ' every ' + U.fmtNs(tl.period_ns) +
      '; highest live ' + U.fmtBytes(peak) + ', highest overhead ' + U.fmtPct(ovMax) +
      '. Point at the chart for the values at a time.');
    return;
  }
  U.append(box,
    el('b', null, 't = ' + U.fmtNs(tl.t_ns[i])), ' · ',
    el('span', { class: 'key live' }, 'live ' + U.fmtBytes(tl.live_b[i]) + ' in ' + U.plural(tl.live_k[i], 'block')), ' · ',
    el('span', { class: 'key used' }, 'in use ' + U.fmtBytes(tl.used_b[i])), ' · ',
    el('span', { class: 'key heap' }, 'heap ' + U.fmtBytes(tl.heap_b[i])), ' · ',
    el('span', { class: 'key ovh' }, 'overhead ' + U.fmtPct(overhead(tl, i))));
  for (const L of tl.load) {
    if (!(L.count[i] > 0)) continue;
    U.append(box, ' · ', el('span', { class: 'key loadmax' }, sourceName(L) + ' load mean ' +
      U.fmtPct(L.mean[i]) + ', max ' + U.fmtPct(L.max[i]) + ' (' + U.plural(L.count[i], 'cycle') + ')'));
  }
}

function sourceName(L) {
  const c = model && model.callbacks[L.callback];
  return c ? U.str(c.api) + ' "' + U.str(c.name) + '"' : 'source ' + L.callback;
}

/* The load panel under the heap chart: [top, top + ph) of root, on the same X. */
function drawLoad(root, tl, X, left, pw, top, ph, tend) {
  let ymax = 100;
  for (const L of tl.load) {
    for (let i = 0; i < tl.length; i++) ymax = Math.max(ymax, L.max[i]);
    if (L.tail.count > 0) ymax = Math.max(ymax, L.tail.max);
  }
  const yt = U.ticks(ymax, 3, false, true);
  ymax = Math.max(ymax, yt[yt.length - 1]);
  const Y = (p) => top + ph * (1 - p / ymax);
  for (const v of yt) {
    root.appendChild(svg('line', { x1: left, x2: left + pw, y1: Y(v), y2: Y(v), class: 'grid' }));
    root.appendChild(svg('text', { x: left - 6, y: Y(v) + 4, class: 'axis', 'text-anchor': 'end' }, v + '%'));
  }
  root.appendChild(svg('line', { x1: left, x2: left + pw, y1: Y(100), y2: Y(100), class: 'deadline' }));
  root.appendChild(svg('text', { x: left + pw - 4, y: Y(100) - 4, class: 'axis', 'text-anchor': 'end' }, 'deadline'));
  /* Each row at the end of its interval; the cycles after the last sample at the end. */
  const pts = (L, a, tailv) => {
    const out = [];
    for (let i = 0; i < tl.length; i++) out.push(X(tl.t_ns[i]).toFixed(1) + ',' + Y(a[i]).toFixed(1));
    if (L.tail.count > 0 && tend > tl.t_ns[tl.length - 1]) out.push(X(tend).toFixed(1) + ',' + Y(tailv).toFixed(1));
    return out.join(' ');
  };
  for (const L of tl.load) {
    root.appendChild(svg('polyline', { class: 'line loadmax', points: pts(L, L.max, L.tail.max), dataset: { callback: L.callback } }));
    root.appendChild(svg('polyline', { class: 'line loadmean', points: pts(L, L.mean, L.tail.mean), dataset: { callback: L.callback } }));
    /* The overruns this source kept, where they started. */
    const c = model.callbacks[L.callback];
    for (const k of (c && Array.isArray(c.slow_cycles) ? c.slow_cycles : [])) {
      if (!k || k.overrun !== true) continue;
      const x = X(U.num(k.start_ns, 0));
      const mark = svg('line', { x1: x, x2: x, y1: top, y2: top + ph, class: 'overrun-mark' });
      mark.appendChild(svg('title', null, AP.audio.story(model, k)));
      root.appendChild(mark);
    }
  }
  root.appendChild(svg('line', { x1: left, x2: left + pw, y1: top + ph, y2: top + ph, class: 'axis-line' }));
  root.appendChild(svg('text', { x: left, y: top - 4, class: 'axis-title' },
    'callback load per interval, in % of the deadline (mean, max; red: kept overruns)'));
}

/* Draws the chart at the width of its box. */
function draw() {
  const m = model;
  const box = U.clear(U.$('timeline-chart'));
  const tl = m && m.timeline;
  if (!tl) {
    box.appendChild(el('p', { class: 'none' }, m && m.ap
      ? 'No heap timeline in this profile (sampling was off: AUDIOPROF_SAMPLE=0, or the preload is older).'
      : 'No heap timeline: this is a plain DHAT file.'));
    U.clear(U.$('timeline-readout'));
    return;
  }
  const LOAD_H = tl.load.length ? 140 : 0;   /* the load panel, under the heap's */
  const W = Math.max(320, box.clientWidth || 800), H = 260 + LOAD_H;
  const left = 72, right = 48, top = 12, bottom = 30;
  const pw = W - left - right, ph = H - LOAD_H - top - bottom;
  const tmax = Math.max(tl.t_ns[tl.length - 1], m.tu === 'ns' ? m.te : 0, 1);
  let ymax = 1;
  for (const s of SERIES) for (let i = 0; i < tl.length; i++) ymax = Math.max(ymax, tl[s.key][i]);
  const yt = U.ticks(ymax, 4, true, true);
  ymax = Math.max(ymax, yt[yt.length - 1]);
  const X = (t) => left + pw * t / tmax;
  const Y = (v) => top + ph * (1 - v / ymax);
  const Yp = (p) => top + ph * (1 - p / 100);

  const root = svg('svg', { class: 'timeline', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H,
    role: 'img', 'aria-label': 'Heap usage over time' });
  for (const v of yt) {
    root.appendChild(svg('line', { x1: left, x2: left + pw, y1: Y(v), y2: Y(v), class: 'grid' }));
    root.appendChild(svg('text', { x: left - 6, y: Y(v) + 4, class: 'axis', 'text-anchor': 'end' }, U.fmtBytes(v)));
  }
  for (const p of [0, 50, 100])
    root.appendChild(svg('text', { x: left + pw + 6, y: Yp(p) + 4, class: 'axis ovh' }, p + '%'));
  for (const t of U.ticks(tmax, 8, false))
    root.appendChild(svg('text', { x: X(t), y: H - bottom + 16, class: 'axis', 'text-anchor': 'middle' }, U.fmtNs(t)));
  if (LOAD_H) drawLoad(root, tl, X, left, pw, top + ph + 34, LOAD_H - 40, tmax);

  /* Each series as a step-free polyline; live bytes also filled. */
  const pts = (key) => {
    const a = [];
    for (let i = 0; i < tl.length; i++) a.push(X(tl.t_ns[i]).toFixed(1) + ',' + Y(tl[key][i]).toFixed(1));
    return a.join(' ');
  };
  root.appendChild(svg('polygon', { class: 'area live', points: X(tl.t_ns[0]).toFixed(1) + ',' + Y(0) + ' ' + pts('live_b') +
    ' ' + X(tl.t_ns[tl.length - 1]).toFixed(1) + ',' + Y(0) }));
  for (const s of SERIES) root.appendChild(svg('polyline', { class: 'line ' + s.cls, points: pts(s.key) }));
  const ov = [];
  for (let i = 0; i < tl.length; i++) ov.push(X(tl.t_ns[i]).toFixed(1) + ',' + Yp(overhead(tl, i)).toFixed(1));
  root.appendChild(svg('polyline', { class: 'line ovh', points: ov.join(' ') }));

  /* The global peak (tg). */
  if (m.tu === 'ns' && m.tg > 0 && m.tg <= tmax) {
    root.appendChild(svg('line', { x1: X(m.tg), x2: X(m.tg), y1: top, y2: top + ph, class: 'peak' }));
    root.appendChild(svg('text', { x: X(m.tg) + 4, y: top + 10, class: 'axis peak-label' },
      'peak ' + U.fmtBytes(m.totals.max_b)));
  }
  root.appendChild(svg('line', { x1: left, x2: left + pw, y1: top + ph, y2: top + ph, class: 'axis-line' }));

  /* The pointer: a vertical guide at the nearest sample. */
  const guide = svg('line', { x1: 0, x2: 0, y1: top, y2: H - bottom, class: 'guide', visibility: 'hidden' });
  root.appendChild(guide);
  const hit = svg('rect', { x: left, y: top, width: pw, height: H - bottom - top, class: 'hit' });
  root.appendChild(hit);
  const move = U.throttleFrame((ev) => {
    const r = root.getBoundingClientRect();
    const t = (ev.clientX - r.left - left) / pw * tmax;
    let lo = 0, hi = tl.length - 1;
    while (lo < hi) {   /* first sample at or after t */
      const mid = (lo + hi) >> 1;
      if (tl.t_ns[mid] < t) lo = mid + 1; else hi = mid;
    }
    if (lo > 0 && t - tl.t_ns[lo - 1] < tl.t_ns[lo] - t) lo--;
    guide.setAttribute('x1', X(tl.t_ns[lo]));
    guide.setAttribute('x2', X(tl.t_ns[lo]));
    guide.setAttribute('visibility', 'visible');
    readout(tl, lo);
  });
  hit.addEventListener('mousemove', move);
  hit.addEventListener('mouseleave', () => { guide.setAttribute('visibility', 'hidden'); readout(tl, -1); });
  box.appendChild(root);

  const legend = el('div', { class: 'legend' });
  for (const s of SERIES.slice().reverse())
    legend.appendChild(el('span', { class: 'key ' + s.cls }, s.label));
  legend.appendChild(el('span', { class: 'key ovh' }, 'allocator overhead (right axis)'));
  legend.appendChild(el('span', { class: 'key peak' }, 'global peak'));
  if (LOAD_H) {
    legend.appendChild(el('span', { class: 'key loadmax' }, 'callback load, max per interval'));
    legend.appendChild(el('span', { class: 'key loadmean' }, 'callback load, mean'));
  }
  box.appendChild(legend);
  readout(tl, -1);
}

T.render = function (m) {
  model = m;
  draw();
};

T.resize = function () {
  if (model) draw();
};

})(window.AP = window.AP || {});
