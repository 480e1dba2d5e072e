/* tree.js - the allocation tree, like valgrind's dh_view: program points merged by
 * their stacks, either from the allocation site outwards ("callers", dh_view's
 * order: malloc, then who called it, ...) or from the outermost frame inwards
 * ("callees": main, then what it called, ...). Sorted by a chosen metric; nodes are
 * built only when first expanded and only expanded nodes are rendered (50 children at
 * a time), so a profile with 100,000 sites opens at once. Selecting a row shows all
 * its numbers and, for a single site, its whole stack. */
(function (AP) {
'use strict';

const U = AP.util;
const P = AP.profile;
const el = U.el;
const R = AP.tree = {};

const PAGE = 50;           /* children rendered per "show more" */
const SUMS = P.FIELDS;     /* every column of the profile, summed per node */
const ENDS = -2;           /* pseudo-frame: stacks that end at the parent */

let ts = null;             /* {m, metric, outer, root, selected, byKey} */

/* ------------------------------------------------------------------ nodes */

/* A node: the program points `pps` (Int32Array) whose stacks share the path to it;
 * `level` frames on that path; `frame` its own ftbl index (-1 root, ENDS). */
function node(parent, frame, pps) {
  const m = ts.m;
  const sums = {};
  for (const f of SUMS) {
    const col = m.col[f];
    let s = 0;
    for (let k = 0; k < pps.length; k++) s += col[pps[k]];
    sums[f] = s;
  }
  return {
    parent, frame, pps, sums,
    level: parent ? parent.level + 1 : 0,
    key: parent ? parent.key + '.' + (frame === ENDS ? 'end' : frame) : 'root',
    kids: null, open: false, shown: PAGE,
  };
}

function byMetric(a, b) {
  const k = ts.metric;
  return b.sums[k] - a.sums[k] || b.sums.tb - a.sums.tb || a.frame - b.frame;
}

/* The children of n: its program points grouped by their next frame. */
function build(n) {
  if (n.kids) return n.kids;
  const m = ts.m;
  if (n.frame === ENDS) return (n.kids = []);
  const groups = new Map();
  const ends = [];
  for (let k = 0; k < n.pps.length; k++) {
    const i = n.pps[k];
    const f = P.frameAt(m, i, n.level, ts.outer);
    if (f < 0) { ends.push(i); continue; }
    let g = groups.get(f);
    if (!g) groups.set(f, (g = []));
    g.push(i);
  }
  const kids = [];
  for (const [f, g] of groups) kids.push(node(n, f, Int32Array.from(g)));
  /* Some stacks end here and others go on: the ones that end get a row of their own. */
  if (ends.length && kids.length) kids.push(node(n, ENDS, Int32Array.from(ends)));
  kids.sort(byMetric);
  return (n.kids = kids);
}

/* Opens n, and its only child while there is just one (a chain opens in one click). */
function expand(n) {
  for (let i = 0; n && i < 256; i++) {
    n.open = true;
    const kids = build(n);
    n = kids.length === 1 ? kids[0] : null;
  }
}

/* Opens the heaviest path down to `levels` levels (the initial view). */
function expandHeaviest(n, levels) {
  for (let i = 0; n && i < levels; i++) {
    expand(n);
    while (n.open && n.kids && n.kids.length === 1) n = n.kids[0];
    n = n.kids && n.kids.length ? n.kids[0] : null;
  }
}

function resort(n) {
  if (!n.kids) return;
  n.kids.sort(byMetric);
  for (const c of n.kids) resort(c);
}

/* ------------------------------------------------------------------ rendering */

function frameLabel(n) {
  if (n.frame === -1) return [el('span', { class: 'fn' }, 'All allocations')];
  if (n.frame === ENDS) return [el('span', { class: 'fn muted' }, '[the stack ends here]')];
  const f = P.frame(ts.m, n.frame);
  const where = U.frameWhere(f);
  return [el('span', { class: 'fn fr-' + f.kind }, U.frameName(f)),
    where ? el('span', { class: 'where' }, ' ' + where) : null];
}

function row(n, total) {
  const mt = P.metric(ts.metric);
  const v = n.sums[ts.metric];
  const leaf = n.pps.length === 1 && (n.frame === ENDS || n.level >= ts.m.fsLen[n.pps[0]]);
  const pct = total > 0 ? 100 * v / total : 0;
  const fill = el('span', { class: 'fill' });
  fill.style.width = Math.min(100, pct) + '%';
  const label = el('span', { class: 'label' },
    el('span', { class: 'tog', 'aria-hidden': 'true' }, leaf ? '·' : n.open ? '▾' : '▸'),
    frameLabel(n),
    n.pps.length > 1 ? el('span', { class: 'meta' }, ' ' + U.plural(n.pps.length, 'site')) : null);
  label.style.paddingLeft = (n.level * 14) + 'px';
  const r = el('div', {
    class: 'row' + (ts.selected === n ? ' selected' : ''), role: 'treeitem', tabindex: '-1',
    'aria-level': n.level + 1, 'aria-expanded': leaf ? undefined : String(n.open),
    'aria-selected': ts.selected === n ? 'true' : 'false',
    title: n.frame >= 0 ? ts.m.ftbl[n.frame] : undefined,
    dataset: { key: n.key, value: v },
  },
  el('span', { class: 'val' }, P.fmtMetric(mt, v)),
  el('span', { class: 'pct' }, U.fmtPct(pct)),
  el('span', { class: 'bar' }, fill),
  label);
  ts.byKey.set(n.key, n);
  return r;
}

/* Re-renders the visible rows: every open node's first `shown` children. */
function render() {
  const box = U.$('tree-rows');
  const focused = box.contains(document.activeElement);   /* keep the keyboard focus */
  const frag = document.createDocumentFragment();
  const total = ts.root.sums[ts.metric];
  ts.byKey = new Map();
  const walk = (n) => {
    frag.appendChild(row(n, total));
    if (!n.open) return;
    const kids = build(n);
    const k = Math.min(kids.length, n.shown);
    for (let i = 0; i < k; i++) walk(kids[i]);
    if (kids.length > k) {
      const more = el('div', { class: 'row more', dataset: { more: n.key } },
        el('span', { class: 'label' }, el('button', { type: 'button' },
          'show ' + Math.min(PAGE, kids.length - k) + ' more of ' + U.fmtInt(kids.length - k) + ' remaining')));
      more.firstChild.style.paddingLeft = ((n.level + 1) * 14) + 'px';
      ts.byKey.set('more:' + n.key, n);
      frag.appendChild(more);
    }
  };
  walk(ts.root);
  U.clear(box).appendChild(frag);
  const sel = ts.selected && box.querySelector('.row.selected');
  if (sel && focused) {
    sel.focus({ preventScroll: true });
    sel.scrollIntoView({ block: 'nearest' });
  }
}

/* ------------------------------------------------------------------ details */

function detail(n) {
  const box = U.clear(U.$('tree-detail'));
  if (!n) {
    box.appendChild(el('p', { class: 'none' }, 'Select a row to see its numbers.'));
    return;
  }
  const m = ts.m, s = n.sums;
  const line = (id, label, value, raw) => el('tr', { id: 'detail-' + id },
    el('th', null, label), el('td', { dataset: raw === undefined ? undefined : { value: raw } }, value));
  const avgLife = s.tbk > 0 ? s.tl / s.tbk : NaN;
  const t = el('table', { class: 'stats' },
    line('sites', 'sites', U.fmtInt(n.pps.length), n.pps.length),
    line('tb', 'total bytes', U.fmtInt(s.tb) + ' B' +
      (m.totals.total_b > 0 ? ' (' + U.share(s.tb, m.totals.total_b) + ' of all)' : ''), s.tb),
    line('tbk', 'total blocks', U.fmtInt(s.tbk) + (s.tbk > 0 ? ', average ' + U.fmtBytes(Math.round(s.tb / s.tbk)) : ''), s.tbk),
    m.has.tl ? line('tl', 'average lifetime', P.fmtTime(m, avgLife), Math.round(avgLife)) : null,
    m.has.gb ? line('gb', 'at the peak', U.fmtInt(s.gb) + ' B in ' + U.plural(s.gbk, 'block'), s.gb) : null,
    m.has.mb ? line('mb', n.pps.length === 1 ? 'own maximum' : 'sum of maxima', U.fmtInt(s.mb) + ' B, ' + U.plural(s.mbk, 'block'), s.mb) : null,
    m.has.eb ? line('eb', 'live at the end', U.fmtInt(s.eb) + ' B in ' + U.plural(s.ebk, 'block'), s.eb) : null,
    m.has.slk ? line('slk', 'short-lived', U.plural(s.slk, 'block'), s.slk) : null,
    m.has.cbk ? line('cbk', 'in callbacks', U.plural(s.cbk, 'block') + ', ' + U.fmtInt(s.cbb) + ' B', s.cbk) : null);
  let title = 'All allocations';
  if (n.frame >= 0) title = m.ftbl[n.frame];
  else if (n.frame === ENDS) title = 'Stacks that end at ' + (n.parent.frame >= 0 ? m.ftbl[n.parent.frame] : 'the root');
  box.appendChild(el('h4', { class: 'detail-title' }, title));
  box.appendChild(t);
  if (n.pps.length === 1) {
    const i = n.pps[0];
    box.appendChild(el('h4', null, 'Allocated at'));
    box.appendChild(AP.summary.stack(m, Array.from(m.fs.subarray(m.fsOff[i], m.fsOff[i] + m.fsLen[i])), 40));
  } else if (n.level > 0) {
    const path = [];
    for (let p = n; p && p.frame !== -1; p = p.parent) if (p.frame >= 0) path.push(p.frame);
    box.appendChild(el('h4', null, ts.outer ? 'Path from the outermost frame' : 'Path from the allocation site'));
    box.appendChild(AP.summary.stack(m, ts.outer ? path : path.reverse(), 40));
  }
}

/* ------------------------------------------------------------------ events */

function toggle(n) {
  if (n.open) n.open = false;
  else expand(n);
}

function select(n) {
  ts.selected = n;
  detail(n);
}

function onClick(ev) {
  const r = ev.target.closest('.row');
  if (!r || !ts) return;
  if (r.dataset.more) {
    const n = ts.byKey.get('more:' + r.dataset.more);
    if (n) { n.shown += PAGE; render(); }
    return;
  }
  const n = ts.byKey.get(r.dataset.key);
  if (!n) return;
  toggle(n);
  select(n);
  render();
}

function onKey(ev) {
  if (!ts || !ts.selected) return;
  const rows = Array.from(U.$('tree-rows').querySelectorAll('.row[data-key]'));
  const at = rows.findIndex((r) => r.dataset.key === ts.selected.key);
  let n = ts.selected;
  switch (ev.key) {
    case 'ArrowDown': if (at + 1 < rows.length) n = ts.byKey.get(rows[at + 1].dataset.key); break;
    case 'ArrowUp': if (at > 0) n = ts.byKey.get(rows[at - 1].dataset.key); break;
    case 'ArrowRight': if (!n.open) expand(n); break;
    case 'ArrowLeft': if (n.open) n.open = false; else if (n.parent) n = n.parent; break;
    case 'Enter': case ' ': toggle(n); break;
    default: return;
  }
  ev.preventDefault();
  select(n);
  render();
}

let wired = false;
function wire() {
  if (wired) return;
  wired = true;
  const box = U.$('tree-rows');
  box.addEventListener('click', onClick);
  box.addEventListener('keydown', onKey);
  U.$('tree-metric').addEventListener('change', (ev) => {
    if (!ts) return;
    ts.metric = ev.target.value;
    resort(ts.root);
    render();
  });
  for (const r of document.querySelectorAll('input[name="tree-dir"]'))
    r.addEventListener('change', (ev) => { if (ts && ev.target.checked) start(ev.target.value === 'callees'); });
  U.$('tree-collapse').addEventListener('click', () => {
    if (!ts) return;
    const close = (n) => { n.open = false; if (n.kids) n.kids.forEach(close); };
    close(ts.root);
    ts.root.open = true;
    render();
  });
}

/* A fresh tree in the given direction, with the heaviest path open. */
function start(outer) {
  ts.outer = outer;
  const all = new Int32Array(ts.m.npps);
  for (let i = 0; i < all.length; i++) all[i] = i;
  ts.root = node(null, -1, all);
  ts.selected = ts.root;
  expandHeaviest(ts.root, 4);
  detail(ts.root);
  render();
}

R.render = function (m) {
  wire();
  ts = { m, metric: 'tb', outer: false, root: null, selected: null, byKey: new Map() };
  const sel = U.clear(U.$('tree-metric'));
  for (const mt of P.available(m)) sel.appendChild(el('option', { value: mt.key }, mt.label));
  sel.value = 'tb';
  for (const r of document.querySelectorAll('input[name="tree-dir"]')) r.checked = r.value === 'callers';
  start(false);
};

})(window.AP = window.AP || {});
