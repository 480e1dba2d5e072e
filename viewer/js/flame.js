/* flame.js - the flame graph: every stack, outermost caller at the top and the
 * allocation function at the bottom, frames with the same function name merged, each
 * frame as wide as its share of the chosen metric. Drawn on a canvas; frames narrower
 * than half a pixel are skipped, so 100,000 sites draw as fast as 100. Click a frame to
 * zoom into it; type in "Find" to highlight functions.
 *
 * Layout without a tree: the program points are sorted once by their stack of name ids
 * (outermost first; ids are given in alphabetical order, as flamegraph.pl sorts), then
 * one sweep per metric emits a rectangle whenever a run of equal prefixes ends. The
 * rectangles of each depth come out in increasing x, which makes drawing a range and
 * finding the frame under the pointer binary searches.
 *
 * Two graphs of this kind: the heap one (section #flame), whose "Width by" lists the
 * heap metrics and then each callback's CPU samples, and beside it the CPU one
 * (section #cpuflame, shown when the profile has samples), which lays out one
 * callback's sampled stacks (profile.js, cpuModel) at a time. Each is an instance of
 * graph() below, over its own elements. */
(function (AP) {
'use strict';

const U = AP.util;
const P = AP.profile;
const F = AP.flame = {};

const ROW = 18;            /* px per stack level */
const MIN_PX = 0.5;        /* narrower frames are not drawn */

/* ------------------------------------------------------------------ preparation */

/* Name ids for every frame and the metric-independent sort of the program points. */
function prepare(m) {
  const nf = m.ftbl.length;
  const byName = new Map();
  const frameNames = new Array(nf);
  for (let i = 0; i < nf; i++) {
    const name = U.frameName(P.frame(m, i));
    frameNames[i] = name;
    if (!byName.has(name)) byName.set(name, i);
  }
  const names = Array.from(byName.keys()).sort();
  const nameId = new Map(names.map((n, i) => [n, i]));
  const frameName = new Int32Array(nf);
  for (let i = 0; i < nf; i++) frameName[i] = nameId.get(frameNames[i]);
  /* One frame per name: its kind gives the colour, its location the tooltip. */
  const rep = new Int32Array(names.length);
  names.forEach((n, i) => { rep[i] = byName.get(n); });

  /* Stacks as name ids, outermost first, in the layout of m.fs. */
  const keys = new Int32Array(m.fs.length);
  for (let i = 0; i < m.npps; i++) {
    const off = m.fsOff[i], len = m.fsLen[i];
    for (let k = 0; k < len; k++) keys[off + k] = frameName[m.fs[off + len - 1 - k]];
  }
  const order = new Int32Array(m.npps);
  for (let i = 0; i < m.npps; i++) order[i] = i;
  order.sort((a, b) => {
    const oa = m.fsOff[a], ob = m.fsOff[b], la = m.fsLen[a], lb = m.fsLen[b];
    const n = la < lb ? la : lb;
    for (let k = 0; k < n; k++) {
      const d = keys[oa + k] - keys[ob + k];
      if (d) return d;
    }
    return la - lb;
  });
  return { m, names, rep, keys, order, layout: null, zoom: null, match: null, hover: -1 };
}

/* The rectangles for metric `key`: typed arrays x, w (metric units), depth, name
 * (-1 for the root), and per depth the indices in increasing x. */
function layout(s, key) {
  const m = s.m, v = m.col[key], keys = s.keys;
  const cap = m.fs.length + 1;
  const x = new Float64Array(cap), w = new Float64Array(cap);
  const depth = new Uint8Array(cap), name = new Int32Array(cap);
  let n = 0;
  const emit = (d, nm, x0, wd) => { x[n] = x0; w[n] = wd; depth[n] = d; name[n] = nm; n++; };

  const maxD = Math.min(m.maxDepth, 254);
  const openName = new Int32Array(maxD + 2), openX = new Float64Array(maxD + 2);
  let open = 0, pos = 0, deepest = 0;
  for (let j = 0; j < s.order.length; j++) {
    const i = s.order[j];
    const val = v[i];
    if (!(val > 0)) continue;
    const off = m.fsOff[i], len = Math.min(m.fsLen[i], maxD);
    let l = 0;
    while (l < open && l < len && openName[l + 1] === keys[off + l]) l++;
    for (let d = open; d > l; d--) emit(d, openName[d], openX[d], pos - openX[d]);
    for (let d = l + 1; d <= len; d++) { openName[d] = keys[off + d - 1]; openX[d] = pos; }
    open = len;
    if (len > deepest) deepest = len;
    pos += val;
  }
  for (let d = open; d > 0; d--) emit(d, openName[d], openX[d], pos - openX[d]);
  emit(0, -1, 0, pos);

  /* Per-depth index lists (a counting sort keeps the emission order, i.e. x order). */
  const count = new Int32Array(deepest + 2);
  for (let r = 0; r < n; r++) count[depth[r] + 1]++;
  for (let d = 1; d < count.length; d++) count[d] += count[d - 1];
  const start = Int32Array.from(count);
  const idx = new Int32Array(n);
  for (let r = 0; r < n; r++) idx[start[depth[r]]++] = r;
  return { key, x, w, depth, name, n, idx, dStart: count, deepest, total: pos };
}

/* First position p in [lo, hi) of idx (one depth) whose rectangle ends after x0. */
function firstEndingAfter(L, lo, hi, x0) {
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const r = L.idx[mid];
    if (L.x[r] + L.w[r] <= x0) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/* The rectangle at depth d containing value position px, or -1. */
function rectAt(L, d, px) {
  if (d < 0 || d > L.deepest) return -1;
  const lo = L.dStart[d], hi = L.dStart[d + 1];
  const p = firstEndingAfter(L, lo, hi, px);
  if (p >= hi) return -1;
  const r = L.idx[p];
  return L.x[r] <= px ? r : -1;
}

/* ------------------------------------------------------------------ drawing */

function colour(s, r, dim) {
  const L = s.layout;
  const nm = L.name[r];
  if (nm < 0) return dim ? '#e4e4e4' : '#d0d0d0';
  if (s.match && s.match[nm]) return '#d946ef';
  const f = P.frame(s.m, s.rep[nm]);
  const h = U.hash01(s.names[nm]);
  let c;
  if (f.kind === 'alloc') c = 'hsl(0, 0%, ' + (72 + 8 * h).toFixed(0) + '%)';
  else if (f.kind === 'lib') c = 'hsl(' + (185 + 40 * h).toFixed(0) + ', 55%, 68%)';
  else if (f.kind === 'src') c = 'hsl(' + (8 + 42 * h).toFixed(0) + ', 85%, ' + (60 + 6 * h).toFixed(0) + '%)';
  else c = 'hsl(45, 20%, 75%)';
  return c;
}

function label(s, r) {
  const nm = s.layout.name[r];
  return nm < 0 ? 'all (' + P.metric(s.layout.key).label.toLowerCase() + ')' : s.names[nm];
}

/* One flame graph over the elements named in id (canvas, box, tip, status, metric,
 * search, reset); returns its entry points. */
function graph(id) {
  let st = null;             /* the state shown; see prepare() */

  /* Draws the visible part: ancestors of the zoomed frame across the full width
   * (dimmed), then every frame inside the zoomed range wide enough to see. */
  function draw() {
    const s = st;
    const canvas = U.$(id.canvas);
    const box = U.$(id.box);
    const L = s.layout;
    const cssW = Math.max(300, box.clientWidth);
    const rows = L.deepest + 1;
    const cssH = rows * ROW;
    const dpr = window.devicePixelRatio || 1;
    canvas.style.width = cssW + 'px';
    canvas.style.height = cssH + 'px';
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    ctx.font = '12px system-ui, "DejaVu Sans", sans-serif';
    ctx.textBaseline = 'middle';
    const charW = ctx.measureText('abcdefghijklmnopqrstuvwxyz').width / 26;

    const z = s.zoom;
    const scale = z.w > 0 ? cssW / z.w : 0;
    let drawn = 0, culled = 0;
    const box1 = (r, px, pw, d, dim) => {
      ctx.globalAlpha = dim ? 0.45 : 1;   /* ancestors of the zoomed frame */
      ctx.fillStyle = colour(s, r, dim);
      ctx.fillRect(px, d * ROW, Math.max(pw - 0.5, 0.5), ROW - 1);
      ctx.globalAlpha = 1;
      if (pw > 30) {
        let t = label(s, r);
        let max = Math.floor((pw - 8) / charW);
        if (t.length > max) t = max > 2 ? t.slice(0, max - 1) + '…' : '';
        while (t && ctx.measureText(t).width > pw - 6) t = t.length > 2 ? t.slice(0, -2) + '…' : '';
        if (t) {
          ctx.fillStyle = dim ? '#555' : '#1a1a1a';
          ctx.fillText(t, px + 4, d * ROW + ROW / 2);
        }
      }
      drawn++;
    };
    for (let d = 0; d <= L.deepest; d++) {
      if (d < z.depth) {
        const r = rectAt(L, d, z.x + z.w / 2);
        if (r >= 0) box1(r, 0, cssW, d, true);
        continue;
      }
      const hi = L.dStart[d + 1];
      const x1 = z.x + z.w;
      for (let p = firstEndingAfter(L, L.dStart[d], hi, z.x); p < hi; p++) {
        const r = L.idx[p];
        if (L.x[r] >= x1) break;
        const pw = L.w[r] * scale;
        if (pw < MIN_PX) { culled++; continue; }
        box1(r, (L.x[r] - z.x) * scale, pw, d, false);
      }
    }
    s.drawn = drawn;
    s.culled = culled;
    status();
  }

  function status() {
    const s = st, L = s.layout;
    const m = P.metric(L.key);
    let t = U.plural(L.n, 'frame') + ' for ' + P.fmtMetric(m, L.total) + ' (' + m.label.toLowerCase() + '); ' +
      U.fmtInt(s.drawn) + ' drawn, ' + U.fmtInt(s.culled) + ' too narrow to see';
    if (s.zoom.depth > 0) t += '; zoomed into ' + label(s, s.zoom.r);
    if (s.match) {
      let k = 0;
      for (let i = 0; i < s.match.length; i++) k += s.match[i];
      t += '; ' + U.plural(k, 'function') + ' match';
    }
    U.$(id.status).textContent = t;
  }

  /* ------------------------------------------------------------------ interaction */

  /* The rectangle under a mouse event, or -1. */
  function hit(ev) {
    const s = st, L = s.layout;
    const canvas = U.$(id.canvas);
    const b = canvas.getBoundingClientRect();
    const d = Math.floor((ev.clientY - b.top) / ROW);
    const z = s.zoom;
    if (d < z.depth) return rectAt(L, d, z.x + z.w / 2);
    return rectAt(L, d, z.x + (ev.clientX - b.left) / b.width * z.w);
  }

  function zoomTo(r) {
    const L = st.layout;
    if (r < 0 || L.depth[r] === 0) r = L.n - 1;   /* the root is emitted last */
    st.zoom = { x: L.x[r], w: L.w[r], depth: L.depth[r], r: r };
    draw();
  }

  function tip(ev) {
    const s = st;
    const el = U.$(id.tip);
    const r = hit(ev);
    if (r < 0) { el.hidden = true; return; }
    const L = s.layout, m = P.metric(L.key);
    const nm = L.name[r];
    U.clear(el);
    U.append(el, U.el('div', { class: 'tip-name' }, label(s, r)));
    if (nm >= 0) {
      const f = P.frame(s.m, s.rep[nm]);
      const where = f.loc || f.module;
      if (where) U.append(el, U.el('div', { class: 'tip-where' }, where));
    }
    U.append(el, U.el('div', null, P.fmtMetric(m, L.w[r]) + ' · ' + U.share(L.w[r], L.total) + ' of all' +
      (s.zoom.depth > 0 ? ' · ' + U.share(L.w[r], s.zoom.w) + ' of the zoomed frame' : '')));
    el.hidden = false;
    const box = U.$(id.box).getBoundingClientRect();
    let x = ev.clientX - box.left + 14, y = ev.clientY - box.top + 14;
    if (x + el.offsetWidth > box.width) x = Math.max(0, ev.clientX - box.left - el.offsetWidth - 10);
    el.style.left = x + 'px';
    el.style.top = y + 'px';
  }

  function search(text) {
    const s = st;
    text = text.trim().toLowerCase();
    if (!text) s.match = null;
    else s.match = Uint8Array.from(s.names, (n) => (n.toLowerCase().includes(text) ? 1 : 0));
    draw();
  }

  let model = null;           /* the loaded profile */
  let heapSt = null;          /* the heap graph's state (made when first shown); st is it or a CPU graph's */
  let cpuSt = new Map();      /* callback index -> its CPU graph's state */

  function setMetric(key) {
    if (key.startsWith('cpu:')) {
      const cb = Number(key.slice(4));
      if (!cpuSt.has(cb)) cpuSt.set(cb, prepare(P.cpuModel(model, cb)));
      st = cpuSt.get(cb);
      key = 'cpu';
    } else {
      st = heapSt || (heapSt = prepare(model));
    }
    st.layout = layout(st, key);
    st.zoom = null;
    zoomTo(-1);
  }

  /* The callbacks with CPU samples, as [value, label] options of "Width by". */
  function cpuOptions(m) {
    if (!m.cpu) return [];
    const seen = new Set(m.cpu.stacks.map((s) => s.callback));
    return Array.from(seen).sort((a, b) => a - b).map((cb) => {
      const c = m.callbacks[cb];
      const what = c ? (U.str(c.api) + ' "' + U.str(c.name) + '"') : 'outside any callback';
      return ['cpu:' + cb, 'CPU samples: ' + what];
    });
  }

  let wired = false;
  function wire() {
    if (wired) return;
    wired = true;
    const canvas = U.$(id.canvas);
    canvas.addEventListener('mousemove', U.throttleFrame((ev) => { if (st) tip(ev); }));
    canvas.addEventListener('mouseleave', () => { U.$(id.tip).hidden = true; });
    canvas.addEventListener('click', (ev) => { if (st) zoomTo(hit(ev)); });
    U.$(id.reset).addEventListener('click', () => { if (st) zoomTo(-1); });
    U.$(id.metric).addEventListener('change', (ev) => { if (st) setMetric(ev.target.value); });
    U.$(id.search).addEventListener('input', (ev) => { if (st) search(ev.target.value); });
  }


  return {
    /* Lay out the heap metrics (and the CPU graphs in "Width by") when heap is true,
     * else only the CPU graphs; first shown: `first`. Returns the options offered. */
    render(m, heap, first) {
      wire();
      model = m;
      heapSt = null;
      st = null;
      cpuSt = new Map();
      const sel = U.clear(U.$(id.metric));
      if (heap)
        for (const mt of P.available(m)) sel.appendChild(U.el('option', { value: mt.key }, mt.label));
      const cpu = cpuOptions(m);
      for (const [v, l] of cpu) sel.appendChild(U.el('option', { value: v }, l));
      U.$(id.search).value = '';
      const key = first || (sel.options.length ? sel.options[0].value : '');
      if (!key) return 0;
      sel.value = key;
      setMetric(key);
      return sel.options.length;
    },
    resize() {
      if (st) draw();
    },
    stats() {
      return st ? { frames: st.layout.n, drawn: st.drawn, culled: st.culled, total: st.layout.total,
        metric: st.layout.key, zoomDepth: st.zoom.depth } : null;
    },
    show(key) {
      U.$(id.metric).value = key;
      setMetric(key);
    },
  };
}

/* ------------------------------------------------------------------ entry points */

const ids = (p) => ({ canvas: p + '-canvas', box: p + '-box', tip: p + '-tip', status: p + '-status',
  metric: p + '-metric', search: p + '-search', reset: p + '-reset' });
const heapGraph = graph(ids('flame'));
const cpuGraph = graph(ids('cpuflame'));

F.render = function (m) {
  heapGraph.render(m, true, 'tb');
  /* The CPU graph beside it (shown first, so that it is laid out at its width): the
   * first callback with samples. */
  const has = !!(m.cpu && m.cpu.stacks.length);
  U.$('cpuflame').hidden = !has;
  U.$('nav-cpuflame').hidden = !has;
  if (has) cpuGraph.render(m, false, null);
};

F.resize = function () {
  heapGraph.resize();
  if (!U.$('cpuflame').hidden) cpuGraph.resize();
};

/* For the tests: what the last draw did, and show metric or CPU graph `key` ("tb",
 * "cpu:0") as if chosen; F.cpu* the same for the CPU graph beside. */
F.stats = () => heapGraph.stats();
F.show = (key) => heapGraph.show(key);
F.cpuStats = () => cpuGraph.stats();
F.cpuShow = (key) => cpuGraph.show(key);

})(window.AP = window.AP || {});
