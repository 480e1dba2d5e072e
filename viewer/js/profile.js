/* profile.js - a profile in memory, as the views see it: JSON text parsed (JSON.parse,
 * never eval), checked, and turned into compact columns: one Float64Array per
 * program-point field and every stack back to back in one Int32Array. Reads
 * audioprof's profiles (man audioprof-json(5); the fields: common/profile_schema.h) and
 * valgrind DHAT's own files, which lack the "audioprof" object. */
(function (AP) {
'use strict';

const U = AP.util;
const P = AP.profile = {};

/* The per-program-point fields kept as columns: the numbers of a program point in
 * common/profile_schema.h (PROFILE_PP), in its order (t_schema.sh checks). */
const FIELDS = ['tb', 'tbk', 'tl', 'mb', 'mbk', 'gb', 'gbk', 'eb', 'ebk', 'slk', 'cbk', 'cbb'];
P.FIELDS = FIELDS;

/* The metrics a tree can be sorted by and a flame graph sized by. `need` is the field
 * that must be in the file for the metric to mean anything. */
P.METRICS = [
  { key: 'tb', label: 'Total bytes', bytes: true },
  { key: 'tbk', label: 'Total blocks' },
  { key: 'gb', label: 'Bytes at the peak', bytes: true },
  { key: 'eb', label: 'Bytes leaked (live at the end)', bytes: true },
  { key: 'slk', label: 'Short-lived blocks' },
  { key: 'cbk', label: 'Allocations in callbacks' },
  { key: 'cpu', label: 'CPU samples' },   /* audioprof.cpu: only for the CPU flame graphs */
];

/* The metrics this profile has data for (total bytes and blocks always). */
P.available = function (m) {
  return P.METRICS.filter((mt) => mt.key !== 'cpu' && (m.has[mt.key] || mt.key === 'tb' || mt.key === 'tbk'));
};

P.metric = function (key) {
  return P.METRICS.find((m) => m.key === key) || P.METRICS[0];
};

/* Formats value v of metric m for display. */
P.fmtMetric = function (m, v) {
  return m.bytes ? U.fmtBytes(v) : U.fmtCount(v);
};

function fail(msg) {
  throw new Error(msg);
}

/* Parses JSON text; `name` names the file in messages. */
P.fromText = function (text, name) {
  let o;
  try {
    o = JSON.parse(text);
  } catch (e) {
    fail(name + ': not JSON: ' + e.message);
  }
  return P.fromObject(o, name);
};

/* Checks a parsed profile and builds the model. Throws an Error naming the problem. */
P.fromObject = function (o, name) {
  if (!o || typeof o !== 'object' || Array.isArray(o)) fail(name + ': not a JSON object');
  if (o.dhatFileVersion !== 2)
    fail(name + ': dhatFileVersion is ' + JSON.stringify(o.dhatFileVersion) +
         ', not 2: not a DHAT or audioprof profile');
  if (!Array.isArray(o.pps)) fail(name + ': no "pps" array');
  if (!Array.isArray(o.ftbl)) fail(name + ': no "ftbl" array');

  const ftbl = o.ftbl.map((s) => U.str(s));
  const nf = ftbl.length;
  const n = o.pps.length;
  const m = {
    name: name,
    cmd: U.str(o.cmd),
    pid: U.num(o.pid, NaN),
    mode: U.str(o.mode),
    tu: U.str(o.tu) || 'ns',
    te: U.num(o.te, 0),
    tg: U.num(o.tg, 0),
    tuth: U.num(o.tuth, NaN),
    ftbl: ftbl,
    npps: n,
    col: {},           /* field -> Float64Array(npps) */
    has: {},           /* field -> some pp has it */
    fsOff: new Int32Array(n),
    fsLen: new Int32Array(n),
    fs: null,          /* Int32Array: every stack, innermost frame first */
    ap: null,          /* the "audioprof" object, or null for a DHAT file */
    totals: null,
    callbacks: [],
    violations: [],
    violationsLost: 0,
    timeline: null,
    cpu: null,         /* audioprof.cpu: {mode, rate, stacks: [{callback, count, fs}]}, or null */
    maxDepth: 0,
  };
  for (const f of FIELDS) m.col[f] = new Float64Array(n);

  let total = 0;
  for (let i = 0; i < n; i++) {
    const pp = o.pps[i];
    if (!pp || typeof pp !== 'object' || !Array.isArray(pp.fs) || pp.fs.length === 0)
      fail(name + ': pps[' + i + '] has no stack ("fs")');
    total += pp.fs.length;
  }
  m.fs = new Int32Array(total);
  let off = 0;
  for (let i = 0; i < n; i++) {
    const pp = o.pps[i];
    for (const f of FIELDS) {
      const v = pp[f];
      if (typeof v === 'number' && Number.isFinite(v)) {
        m.col[f][i] = v;
        m.has[f] = true;
      }
    }
    const fs = pp.fs;
    m.fsOff[i] = off;
    m.fsLen[i] = fs.length;
    if (fs.length > m.maxDepth) m.maxDepth = fs.length;
    for (let k = 0; k < fs.length; k++) {
      const x = fs[k];
      if (!Number.isInteger(x) || x < 0 || x >= nf)
        fail(name + ': pps[' + i + '].fs[' + k + '] = ' + JSON.stringify(x) +
             ' is not an index into ftbl (' + nf + ' frames)');
      m.fs[off++] = x;
    }
  }

  const ap = o.audioprof;
  if (ap && typeof ap === 'object' && !Array.isArray(ap)) {
    m.ap = ap;
    m.callbacks = Array.isArray(ap.callbacks) ? ap.callbacks.filter((c) => c && typeof c === 'object') : [];
    m.violations = Array.isArray(ap.violations)
      ? ap.violations.filter((v) => v && typeof v === 'object').map((v) => ({
        kind: U.str(v.kind), call: U.str(v.call), severity: U.str(v.severity),
        library: U.str(v.library),   /* made inside this audio library's API: not the program's */
        count: U.num(v.count, 0), bytes: U.num(v.bytes, 0),
        /* time inside the calls, total and longest (ns); -1 when not timed */
        time: U.num(v.time_ns, -1), timeMax: U.num(v.time_max_ns, -1),
        callback: Number.isInteger(v.callback) ? v.callback : -1,
        fs: Array.isArray(v.fs) ? v.fs.filter((x) => Number.isInteger(x) && x >= 0 && x < nf) : [],
      }))
      : [];
    m.violationsLost = U.num(ap.violations_lost, 0);
    m.timeline = readTimeline(ap.timeline);
    m.cpu = readCpu(ap.cpu, nf);
  }
  m.totals = readTotals(m, ap && ap.totals);
  m.frames = new Array(nf);   /* parsed lazily by frame() */
  /* The innermost frame of a stack is the allocation function (malloc, new, ...). */
  m.allocFrame = new Uint8Array(nf);
  for (let i = 0; i < n; i++) m.allocFrame[m.fs[m.fsOff[i]]] = 1;
  return m;
};

/* The heap totals: audioprof.totals when present, else summed over the pps. */
function readTotals(m, t) {
  const sum = (f) => m.col[f].reduce((a, b) => a + b, 0);
  if (t && typeof t === 'object') {
    return {
      curr_b: U.num(t.curr_b, 0), curr_k: U.num(t.curr_k, 0),
      max_b: U.num(t.max_b, 0), max_k: U.num(t.max_k, 0),
      total_b: U.num(t.total_b, 0), total_k: U.num(t.total_k, 0),
      frees: U.num(t.frees, NaN), fromFile: true,
    };
  }
  return {
    curr_b: sum('eb'), curr_k: sum('ebk'), max_b: sum('gb'), max_k: sum('gbk'),
    total_b: sum('tb'), total_k: sum('tbk'), frees: NaN, fromFile: false,
  };
}

/* audioprof.cpu (man audioprof-json(5), "CPU samples"): the sampled stacks, each with its
 * callback and count; stacks with a frame outside ftbl are left out. null if absent. */
function readCpu(c, nf) {
  if (!c || typeof c !== 'object' || !Array.isArray(c.stacks)) return null;
  const stacks = [];
  for (const s of c.stacks) {
    if (!s || typeof s !== 'object' || !Array.isArray(s.fs) || s.fs.length === 0) continue;
    if (!s.fs.every((x) => Number.isInteger(x) && x >= 0 && x < nf)) continue;
    const count = U.num(s.count, 0);
    if (!(count > 0)) continue;
    stacks.push({ callback: Number.isInteger(s.callback) ? s.callback : -1, count: count, fs: s.fs });
  }
  return { mode: U.str(c.mode), rate: U.num(c.rate_hz, 0), stacks: stacks };
}

/* A model of one callback's CPU samples (cb: its index, -1 outside any) for the flame
 * graph: the profile's frames, its stacks as the program points, column "cpu". */
P.cpuModel = function (m, cb) {
  const ss = m.cpu ? m.cpu.stacks.filter((s) => s.callback === cb) : [];
  const pm = Object.create(m);
  pm.npps = ss.length;
  pm.fsOff = new Int32Array(ss.length);
  pm.fsLen = new Int32Array(ss.length);
  pm.fs = new Int32Array(ss.reduce((a, s) => a + s.fs.length, 0));
  pm.col = { cpu: Float64Array.from(ss, (s) => s.count) };
  pm.maxDepth = 0;
  let off = 0;
  ss.forEach((s, i) => {
    pm.fsOff[i] = off;
    pm.fsLen[i] = s.fs.length;
    if (s.fs.length > pm.maxDepth) pm.maxDepth = s.fs.length;
    for (const x of s.fs) pm.fs[off++] = x;
  });
  return pm;
};

/* audioprof.timeline: parallel arrays of equal length, or null. */
function readTimeline(t) {
  if (!t || typeof t !== 'object') return null;
  const cols = ['t_ns', 'live_b', 'live_k', 'heap_b', 'used_b'];
  const out = { period_ns: U.num(t.period_ns, 0) };
  let len = -1;
  for (const c of cols) {
    const a = t[c];
    if (!Array.isArray(a)) return null;
    if (len >= 0 && a.length !== len) return null;
    len = a.length;
    out[c] = Float64Array.from(a, (v) => U.num(v, 0));
  }
  out.length = len;
  /* Each source's load over the same intervals (ppm of its deadline), rows aligned
   * with t_ns; a source whose arrays do not match is left out. */
  out.load = (Array.isArray(t.load) ? t.load : []).filter((x) => x && typeof x === 'object' &&
    ['count', 'mean_ppm', 'max_ppm'].every((k) => Array.isArray(x[k]) && x[k].length === len))
    .map((x) => ({
      callback: Number.isInteger(x.callback) ? x.callback : -1,
      count: Float64Array.from(x.count, (v) => U.num(v, 0)),
      mean: Float64Array.from(x.mean_ppm, (v) => U.num(v, 0) / 1e4),   /* in % */
      max: Float64Array.from(x.max_ppm, (v) => U.num(v, 0) / 1e4),
      /* the cycles after the last sample, up to the end (te) */
      tail: { count: U.num(x.tail_count, 0), mean: U.num(x.tail_mean_ppm, 0) / 1e4,
        max: U.num(x.tail_max_ppm, 0) / 1e4 },
    }));
  return len > 0 ? out : null;
}

/* The parsed frame string i (memoized). */
P.frame = function (m, i) {
  let f = m.frames[i];
  if (!f) {
    f = m.frames[i] = U.parseFrame(m.ftbl[i]);
    if (m.allocFrame[i]) f.kind = 'alloc';
  }
  return f;
};

/* The frame at level k of program point i: innermost first (callers) or outermost
 * first (callees); -1 past the end of the stack. */
P.frameAt = function (m, i, k, outermostFirst) {
  const len = m.fsLen[i];
  if (k >= len) return -1;
  return m.fs[m.fsOff[i] + (outermostFirst ? len - 1 - k : k)];
};

/* Is the time unit nanoseconds (audioprof) rather than instructions (valgrind)? */
P.fmtTime = function (m, v) {
  if (m.tu === 'ns') return U.fmtNs(v);
  return U.fmtInt(v) + ' ' + m.tu;
};

})(window.AP = window.AP || {});
