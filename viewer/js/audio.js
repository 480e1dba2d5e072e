/* audio.js - one card per callback source (a JACK client, a PortAudio stream, a marked
 * real-time region, ...): where it ran, its deadline, the histogram of callback
 * durations against the deadline, durations by percentile, load, overruns, near misses,
 * jitter, xruns, allocations inside it, the timings of its zones, and the story of each
 * slow cycle it kept (when it came, how long it took, the unsafe calls made in it). */
(function (AP) {
'use strict';

const U = AP.util;
const el = U.el;
const svg = U.svg;
const A = AP.audio = {};

const num = U.num;

/* A two-column table of [label, value, title?, id?] rows. */
function statTable(rows) {
  const t = el('table', { class: 'stats' });
  for (const r of rows) {
    if (!r) continue;
    t.appendChild(el('tr', r[3] ? { class: r[3] } : null,
      el('th', null, r[0]), el('td', r[2] !== undefined ? { dataset: { value: r[2] } } : null, r[1])));
  }
  return t;
}

/* The histogram of durations in percent of the deadline: one bar per bucket
 * [edges[i], edges[i+1]), the last one open-ended; bar heights on a log scale so that a
 * few overruns stay visible next to thousands of quick callbacks. */
function histogram(c) {
  const h = c.histogram;
  if (!h || !Array.isArray(h.edges_pct) || !Array.isArray(h.counts)) return null;
  const edges = h.edges_pct.map((x) => num(x, 0));
  const counts = h.counts.map((x) => num(x, 0));
  const n = Math.min(edges.length, counts.length);
  if (n === 0) return null;
  const max = Math.max(...counts.slice(0, n));
  if (!(max > 0)) return null;

  const W = 560, H = 190, left = 44, bottom = 34, top = 16;
  const bw = (W - left - 24) / n;
  const ph = H - top - bottom;
  const scale = (v) => (v > 0 ? Math.log10(1 + v) / Math.log10(1 + max) : 0);
  const root = svg('svg', {
    class: 'histogram', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img',
    'aria-label': 'Histogram of callback durations in percent of the deadline',
  });
  /* y axis: counts at powers of ten. */
  for (let p = 1; p <= max * 10; p *= 10) {
    if (p > max && p !== 1) break;
    const y = top + ph * (1 - scale(p));
    root.appendChild(svg('line', { x1: left, x2: W - 24, y1: y, y2: y, class: 'grid' }));
    root.appendChild(svg('text', { x: left - 4, y: y + 4, class: 'axis', 'text-anchor': 'end' }, U.fmtCount(p)));
  }
  for (let i = 0; i < n; i++) {
    const lo = edges[i];
    const hi = i + 1 < n ? edges[i + 1] : Infinity;
    const x = left + i * bw;
    const hgt = ph * scale(counts[i]);
    const cls = lo >= 100 ? 'over' : lo >= 80 ? 'near' : 'ok';
    const label = hi === Infinity ? '≥' + lo + '%' : lo + '–' + hi + '%';
    const bar = svg('rect', {
      x: x + 1, y: top + ph - hgt, width: Math.max(1, bw - 2), height: hgt, class: 'bar ' + cls,
      dataset: { count: counts[i], lo: lo },
    });
    bar.appendChild(svg('title', null, label + ' of the deadline: ' + U.fmtInt(counts[i]) + ' callbacks'));
    root.appendChild(bar);
    if (counts[i] > 0)
      root.appendChild(svg('text', { x: x + bw / 2, y: top + ph - hgt - 3, class: 'count', 'text-anchor': 'middle' },
        U.fmtCount(counts[i])));
    /* Each edge is labelled at the boundary it stands for. */
    root.appendChild(svg('text', { x: x, y: H - bottom + 13, class: 'axis', 'text-anchor': 'middle' }, String(lo)));
    if (lo === 100)
      root.appendChild(svg('line', { x1: x, x2: x, y1: top - 6, y2: H - bottom + 2, class: 'deadline' }));
  }
  root.appendChild(svg('line', { x1: left, x2: W - 24, y1: top + ph, y2: top + ph, class: 'axis-line' }));
  root.appendChild(svg('text', { x: left + (W - left) / 2, y: H - 4, class: 'axis-title', 'text-anchor': 'middle' },
    'callback duration in % of the deadline (counts on a log scale)'));
  return root;
}

/* Durations by percentile as horizontal bars on one scale, with the deadline marked. */
function percentiles(c) {
  if (!(num(c.count, 0) > 0)) return null;
  const rows = [['min', c.min_ns], ['mean', c.mean_ns], ['p50', c.p50_ns], ['p90', c.p90_ns],
    ['p99', c.p99_ns], ['p99.9', c.p999_ns], ['max', c.max_ns]]
    .map((r) => [r[0], num(r[1], NaN)]).filter((r) => Number.isFinite(r[1]));
  if (!rows.length) return null;
  const dl = num(c.deadline_ns, 0);
  const max = Math.max(dl, ...rows.map((r) => r[1]));
  if (!(max > 0)) return null;
  const box = el('div', { class: 'pctl' });
  for (const [name, v] of rows) {
    const pct = 100 * v / max;
    const cls = dl > 0 ? (v >= dl ? 'over' : v >= 0.8 * dl ? 'near' : 'ok') : 'plain';
    const bar = el('div', { class: 'pbar ' + cls });
    bar.style.width = Math.max(0.5, pct) + '%';
    box.appendChild(el('div', { class: 'prow', dataset: { name: name } },
      el('span', { class: 'pname' }, name),
      el('span', { class: 'ptrack' }, bar),
      el('span', { class: 'pval', dataset: { value: v } }, U.fmtNs(v) +
        (dl > 0 ? ' (' + U.fmtPct(100 * v / dl) + ')' : ''))));
  }
  if (dl > 0) {
    /* The deadline as a dashed line across every bar: the track starts after the name
     * column (44px + 8px gap) and ends before the value column (8px gap + 150px). */
    const mark = el('div', { class: 'dl-mark', title: 'deadline ' + U.fmtNs(dl) });
    mark.style.left = 'calc(52px + (100% - 210px) * ' + (dl / max).toFixed(4) + ')';
    box.appendChild(mark);
    box.appendChild(el('div', { class: 'prow dl-row' }, el('span', { class: 'pname' }, ''),
      el('span', { class: 'ptrack' }), el('span', { class: 'pval' }, 'deadline ' + U.fmtNs(dl))));
  }
  return box;
}

/* The zones (named timings inside the callback), slowest mean first. */
function zones(c) {
  if (!Array.isArray(c.zones) || c.zones.length === 0) return null;
  const zs = c.zones.filter((z) => z && typeof z === 'object').slice()
    .sort((a, b) => num(b.mean_ns, 0) - num(a.mean_ns, 0));
  const cbMean = num(c.mean_ns, 0);
  const t = el('table', { class: 'zones' },
    el('thead', null, el('tr', null, el('th', null, 'zone'), el('th', null, 'count'),
      el('th', null, 'mean'), el('th', null, 'p99'), el('th', null, 'max'), el('th', { class: 'share' }, 'share of the callback'))));
  const body = el('tbody');
  for (const z of zs) {
    const share = cbMean > 0 ? 100 * num(z.mean_ns, 0) / cbMean : NaN;
    const bar = el('span', { class: 'zbar' });
    bar.style.width = Math.min(100, Math.max(0, share || 0)) + '%';
    body.appendChild(el('tr', null,
      el('td', { class: 'zname' }, U.str(z.name)),
      el('td', null, U.fmtInt(num(z.count, NaN))),
      el('td', null, U.fmtNs(num(z.mean_ns, NaN))),
      el('td', null, U.fmtNs(num(z.p99_ns, NaN))),
      el('td', null, U.fmtNs(num(z.max_ns, NaN))),
      el('td', { class: 'share' }, el('span', { class: 'ztrack' }, bar), ' ', U.fmtPct(share))));
  }
  t.appendChild(body);
  return t;
}

/* The frame to name a call by: the first of the program's own, past the profiler's
 * wrapper and libc; else the first past the wrapper. */
function callSite(m, fs) {
  let first = null;
  for (const i of fs) {
    const f = AP.profile.frame(m, i);
    if (f.kind === 'alloc') continue;
    if (!first) first = f;
    if (f.loc && !/^(libc|libpthread|libstdc\+\+)/.test(U.basename(f.module))) return f;
  }
  return first;
}

/* "N% of the deadline" as precise as a reader needs: 9375%, 301%, 12.5%. */
function deadlinePct(p) {
  return (p >= 100 ? p.toFixed(0) : p.toFixed(1)) + '%';
}

/* A kept cycle's story, as `audioprof report` tells it: "cycle 1001 at 12.3 s took
 * 1.00 s (9375% of the deadline): usleep at main.c:40, 1 call, 1.00 s". */
A.story = function (m, cy) {
  const vs = (Array.isArray(cy.violations) ? cy.violations : []).filter((v) => v && typeof v === 'object')
    .map((v) => ({ v: v, t: num(v.time_ns, -1), n: num(v.count, 0) }))
    .sort((a, b) => b.t - a.t || b.n - a.n);
  let s = 'cycle ' + num(cy.cycle, 0) + ' at ' + U.fmtNs(num(cy.start_ns, 0)) + ' took ' + U.fmtNs(num(cy.dur_ns, 0));
  if (num(cy.deadline_ns, 0) > 0) s += ' (' + deadlinePct(num(cy.load_pct, 0)) + ' of the deadline)';
  const samples = num(cy.cpu_samples, 0);
  if (samples > 0) s += ', ' + U.plural(samples, 'CPU sample');
  const parts = vs.map(({ v, t, n }) => {
    const fs = Array.isArray(v.fs) ? v.fs.filter((x) => Number.isInteger(x) && x > 0 && x < m.ftbl.length) : [];
    const f = callSite(m, fs);
    const where = f ? (f.loc || U.basename(f.module) || f.func) : '?';
    return (U.str(v.call) || U.str(v.kind)) + ' at ' + where + ', ' + U.plural(n, 'call') +
      (t >= 0 ? ', ' + U.fmtNs(t) : '') + (v.library ? ' (inside ' + U.str(v.library) + ')' : '');
  });
  const more = num(cy.violations_more, 0);
  if (more > 0) parts.push((parts.length ? 'and ' : '') + U.plural(more, 'more call'));
  return s + ': ' + (parts.length ? parts.join('; ') : 'no real-time-unsafe call');
};

/* The kept cycles, slowest first: each story, and the stacks of its calls on demand. */
function slowCycles(m, c) {
  const kept = (Array.isArray(c.slow_cycles) ? c.slow_cycles : []).filter((x) => x && typeof x === 'object')
    .slice().sort((a, b) => num(b.dur_ns, 0) - num(a.dur_ns, 0));
  if (!kept.length) return null;
  const list = el('ol', { class: 'slow-cycles' });
  for (const k of kept) {
    const over = k.overrun === true;
    const item = el('li', { class: 'slow-cycle' + (over ? ' over' : ''), dataset: { cycle: num(k.cycle, 0) } });
    const vs = (Array.isArray(k.violations) ? k.violations : []).filter((v) => v && Array.isArray(v.fs));
    if (vs.length) {
      const det = el('details', null, el('summary', null, A.story(m, k)));
      for (const v of vs)
        det.appendChild(el('div', { class: 'sc-call' }, el('span', { class: 'v-call' }, U.str(v.call)),
          AP.summary.stack(m, v.fs.filter((x) => Number.isInteger(x) && x > 0 && x < m.ftbl.length), 8)));
      item.appendChild(det);
    } else {
      item.appendChild(el('span', null, A.story(m, k)));
    }
    list.appendChild(item);
  }
  const overs = kept.filter((k) => k.overrun === true).length;
  const unlisted = num(c.overruns_unlisted, 0);
  return el('div', { class: 'cb-slow' },
    el('h4', null, 'Slow cycles (' + kept.length + ' kept, ' + U.plural(overs, 'overrun') +
      (unlisted > 0 ? '; ' + U.fmtInt(unlisted) + ' more overruns not kept' : '') + ')'), list);
}

/* One callback source's card. */
function callbackCard(m, c, i) {
  const dl = num(c.deadline_ns, 0);
  const rate = num(c.rate, 0), frames = num(c.frames, 0);
  const over = num(c.overruns, 0);
  const policy = U.str(c.policy);
  const thread = [U.str(c.thread) && U.str(c.thread) !== '?' ? '"' + U.str(c.thread) + '"' : '',
    Number.isFinite(num(c.tid, NaN)) ? 'tid ' + c.tid : '',
    policy && policy !== '?' ? policy + (num(c.priority, 0) ? ' ' + c.priority : '') : ''].filter(Boolean).join(', ');
  const head = el('div', { class: 'cb-head' },
    el('span', { class: 'badge api' }, U.str(c.api) || '?'), ' ',
    el('span', { class: 'cb-name' }, U.str(c.name) || '(unnamed)'),
    thread ? el('span', { class: 'cb-thread' }, ' · thread ' + thread) : null,
    dl > 0 ? el('span', { class: 'cb-dl' }, ' · deadline ' + U.fmtNs(dl) +
      (rate && frames ? ' (' + U.fmtInt(frames) + ' frames at ' + U.fmtInt(rate) + ' Hz)' : '')) : null);

  const rows = [
    ['callbacks', U.fmtInt(num(c.count, NaN)), num(c.count, NaN), 'st-count'],
    dl > 0 ? ['load', 'mean ' + U.fmtPct(num(c.load_mean_pct, NaN)) + ', max ' + U.fmtPct(num(c.load_max_pct, NaN)), undefined, 'st-load'] : null,
    dl > 0 ? ['overruns', U.fmtInt(over), over, over > 0 ? 'st-overruns bad' : 'st-overruns'] : null,
    dl > 0 ? ['near misses', U.fmtInt(num(c.near80, NaN)) + ' over 80%, ' + U.fmtInt(num(c.near95, NaN)) + ' over 95%', undefined, 'st-near'] : null,
    dl > 0 && num(c.period_mean_ns, 0) > 0 ? ['period', 'mean ' + U.fmtNs(num(c.period_mean_ns, NaN)) +
      '; jitter p99 ' + U.fmtNs(num(c.jitter_p99_ns, NaN)) + ', max ' + U.fmtNs(num(c.jitter_max_ns, NaN)), undefined, 'st-jitter'] : null,
    ['xruns', U.fmtInt(num(c.xruns, NaN)), num(c.xruns, NaN), num(c.xruns, 0) > 0 ? 'st-xruns bad' : 'st-xruns'],
    ['p99', U.fmtNs(num(c.p99_ns, NaN)), num(c.p99_ns, NaN), 'st-p99'],
    ['allocations', U.fmtInt(num(c.allocs, NaN)) + ' (' + U.fmtBytes(num(c.alloc_bytes, NaN)) + '), ' +
      U.fmtInt(num(c.frees, NaN)) + ' frees', num(c.allocs, NaN), num(c.allocs, 0) > 0 ? 'st-allocs bad' : 'st-allocs'],
    ['other unsafe calls', U.fmtInt(num(c.rt_unsafe, NaN)), num(c.rt_unsafe, NaN), num(c.rt_unsafe, 0) > 0 ? 'st-unsafe bad' : 'st-unsafe'],
  ];

  const hist = histogram(c);
  const charts = el('div', { class: 'cb-charts' });
  if (hist) charts.appendChild(el('div', { class: 'cb-hist' }, el('h4', null, 'Durations against the deadline'), hist));
  if (!(num(c.count, 0) > 0)) charts.appendChild(el('p', { class: 'none' }, 'No callback of this source was timed.'));
  const p = percentiles(c);
  if (p) charts.appendChild(el('div', { class: 'cb-pctl' }, el('h4', null, 'Durations by percentile'), p,
    dl > 0 ? null : el('p', { class: 'none small' },
      'No deadline is known for this source (a marked region has no sample rate): no load, overruns or histogram.')));

  const z = zones(c);
  return el('div', { class: 'callback' + (over > 0 ? ' has-over' : ''), id: 'callback-' + i },
    head,
    el('div', { class: 'cb-body' }, statTable(rows), charts),
    z ? el('div', { class: 'cb-zones' }, el('h4', null, 'Zones'), z) : null,
    slowCycles(m, c));
}

A.render = function (m) {
  const box = U.clear(U.$('callback-list'));
  if (!m.callbacks.length) {
    box.appendChild(el('p', { class: 'none' }, m.ap && Array.isArray(m.ap.callbacks)
      ? 'No audio callback or real-time region ran in this process.'
      : 'This profile has no audio data.'));
    return;
  }
  m.callbacks.forEach((c, i) => box.appendChild(callbackCard(m, c, i)));
};

})(window.AP = window.AP || {});
