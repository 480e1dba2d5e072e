/* test.js - the viewer's tests in headless Chromium (Debian's /usr/bin/chromium, driven
 * by playwright-core). Run by run.sh, from tests/integration/t_viewer.sh:
 *
 *   node test.js DIR
 *
 * DIR holds the profiles t_viewer.sh made, each NAME.json with the page `audioprof view`
 * wrote for it as NAME.html: rt (tests/progs/rtcallback: callbacks, violations, a
 * timeline), big (gen_big.py: 100,000 sites), evil (gen_evil.py: markup in every
 * string), and when they could be made, dsp (dsp_demo) and dhat (valgrind's DHAT).
 * Numbers on the page are compared with the JSON; screenshots go to tests/out/viewer/.
 * Prints one line per test and "viewer: N passed, N failed"; exit status 1 if any failed.
 * Never asserts on timings: the 100,000-site load time is printed only. */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const { chromium } = require('playwright-core');

const DIR = path.resolve(process.argv[2] || '.');
const ROOT = path.resolve(__dirname, '..', '..');
const VIEWER = path.join(ROOT, 'viewer');
const OUT = path.join(ROOT, 'tests', 'out', 'viewer');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const fileUrl = (p) => 'file://' + p.split('/').map(encodeURIComponent).join('/');

const fmtInt = (n) => new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 }).format(n);
const blocks = (n) => fmtInt(n) + (n === 1 ? ' block' : ' blocks');

let passed = 0, failed = 0;

async function test(name, fn) {
  try {
    await fn();
    passed++;
    console.log('PASS ' + name);
  } catch (e) {
    failed++;
    console.log('FAIL ' + name + ': ' + (e && e.message ? e.message.split('\n')[0] : e));
  }
}

function eq(got, want, what) {
  if (got !== want) throw new Error(what + ': page shows ' + JSON.stringify(got) + ', the JSON says ' + JSON.stringify(want));
}

function ok(cond, what) {
  if (!cond) throw new Error(what);
}

function load(name) {
  const p = path.join(DIR, name + '.json');
  return fs.existsSync(p) ? JSON.parse(fs.readFileSync(p, 'utf8')) : null;
}

/* ------------------------------------------------------------------ browser */

let browser;

/* A new page (in its own context) that records errors, CSP complaints and dialogs. */
async function newPage(opts) {
  const ctx = await browser.newContext(Object.assign({ viewport: { width: 1360, height: 900 } }, opts || {}));
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  page.log = { errors: [], csp: [], dialogs: [], requests: [] };
  page.on('pageerror', (e) => page.log.errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/.test(m.text())) page.log.csp.push(m.text());
    else if (m.type() === 'error') page.log.errors.push(m.text());
  });
  page.on('dialog', (d) => { page.log.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('request', (r) => page.log.requests.push(r.url()));
  page.done = () => ctx.close();
  return page;
}

/* Waits until the viewer is ready (or failed) and returns window.AP.state. */
async function ready(page, timeout) {
  await page.waitForFunction(() => window.AP && AP.state &&
    (AP.state.status === 'ready' || AP.state.status === 'error'), null, { timeout: timeout || 30000 });
  return page.evaluate(() => AP.state);
}

function noErrors(page) {
  ok(page.log.errors.length === 0, 'errors in the page: ' + page.log.errors.join(' | '));
}

async function shot(page, name) {
  fs.mkdirSync(OUT, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));   /* the sticky header at the top */
  await page.screenshot({ path: path.join(OUT, name + '.png'), fullPage: true });
}

/* ------------------------------------------------------------------ checks */

/* The heap totals the page should show: audioprof.totals, else the sums over pps. */
function totals(p) {
  if (p.audioprof && p.audioprof.totals) return p.audioprof.totals;
  const s = (f) => p.pps.reduce((a, pp) => a + (pp[f] || 0), 0);
  return { total_b: s('tb'), total_k: s('tbk'), max_b: s('gb'), max_k: s('gbk'), curr_b: s('eb'), curr_k: s('ebk') };
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
const value = (page, sel) => page.$eval(sel, (e) => Number(e.dataset.value));

/* Summary, callbacks and violations against the JSON. */
async function checkNumbers(page, p) {
  const t = totals(p);
  eq(await value(page, '#sum-total .card-exact'), t.total_b, 'total bytes');
  eq(await text(page, '#sum-total .card-exact'), fmtInt(t.total_b) + ' B in ' + blocks(t.total_k), 'total line');
  eq(await value(page, '#sum-peak .card-exact'), t.max_b, 'peak bytes');
  ok((await text(page, '#sum-peak .card-exact')).startsWith(fmtInt(t.max_b) + ' B in ' + blocks(t.max_k) + ' at '), 'peak line');
  /* `audioprof view` marks the leaks its suppressions match (data-suppressed); the
   * card leaves them out, as `audioprof report` does. A picked file has no marks. */
  const sup = await page.evaluate(() => {
    const n = document.getElementById('audioprof-data');
    return n && n.dataset.suppressed && n.textContent.trim() ? JSON.parse(n.dataset.suppressed) : null;
  });
  const supB = sup ? sup.leaked_bytes : 0;
  eq(await value(page, '#sum-leaked .card-exact'), t.curr_b - supB, 'leaked bytes (less the suppressed)');
  if (supB > 0)
    ok((await text(page, '#sum-leaked .card-exact')).includes(fmtInt(supB) + ' B in ' +
      blocks(sup.leaked_blocks) + ' suppressed (built-in: '), 'the leaked card names the suppressed leaks');
  eq(await value(page, '#sum-sites .card-exact'), p.pps.length, 'sites');
  const ap = p.audioprof;
  if (!ap || !Array.isArray(ap.callbacks)) return;
  for (let i = 0; i < ap.callbacks.length; i++) {
    const c = ap.callbacks[i], card = '#callback-' + i;
    eq(await text(page, card + ' .st-count td'), fmtInt(c.count), 'callback ' + i + ' count');
    eq(await value(page, card + ' .st-p99 td'), c.p99_ns, 'callback ' + i + ' p99');
    eq(await value(page, card + ' .prow[data-name="p99"] .pval'), c.p99_ns, 'callback ' + i + ' p99 bar');
    if (c.deadline_ns > 0) {
      eq(await text(page, card + ' [class^="st-overruns"] td'), fmtInt(c.overruns), 'callback ' + i + ' overruns');
      const bars = await page.$$eval(card + ' svg.histogram rect.bar', (rs) => rs.map((r) => Number(r.dataset.count)));
      eq(JSON.stringify(bars), JSON.stringify(c.histogram.counts), 'callback ' + i + ' histogram');
    }
    const zones = await page.$$eval(card + ' table.zones td.zname', (ts) => ts.map((t) => t.textContent));
    eq(zones.length, (c.zones || []).length, 'callback ' + i + ' zones');
    /* The kept cycles, slowest first, each told with the calls made in it. */
    const kept = c.slow_cycles || [];
    const items = await page.$$eval(card + ' li.slow-cycle', (l) => l.map((e) =>
      ({ cycle: Number(e.dataset.cycle), text: (e.querySelector('summary') || e).textContent })));
    eq(items.length, kept.length, 'callback ' + i + ' slow cycles');
    if (kept.length) {
      const slowest = kept.reduce((a, b) => (b.dur_ns > a.dur_ns ? b : a));
      eq(items[0].cycle, slowest.cycle, 'callback ' + i + ' slowest cycle first');
      for (const it of items) {
        const k = kept.find((x) => x.cycle === it.cycle);
        ok(k && it.text.startsWith('cycle ' + k.cycle + ' at '), 'story "' + it.text + '"');
        for (const v of (k && k.violations) || [])
          ok(it.text.includes(v.call + ' at '), 'story "' + it.text + '" lacks ' + v.call);
      }
    }
  }
  const vs = ap.violations || [];
  eq(await page.$$eval('.violation', (v) => v.length), vs.length, 'violations');
  const counts = await page.$$eval('.violation .v-count', (v) => v.map((e) => Number(e.dataset.value)));
  eq(counts.reduce((a, b) => a + b, 0), vs.reduce((a, v) => a + v.count, 0), 'violation counts');
  if (vs.length) {
    const first = await page.$$eval('#violation-0 .stack li:not(.more)', (l) => l.length);
    ok(first > 0, 'the first violation shows no stack');
  }
  /* The time inside the calls, where the profile has it. */
  const timed = vs.filter((v) => Number.isInteger(v.time_ns));
  const times = await page.$$eval('.violation .v-time', (v) => v.map((e) => Number(e.dataset.value)));
  eq(times.length, timed.length, 'violations with a time inside');
  eq(times.reduce((a, b) => a + b, 0), timed.reduce((a, v) => a + v.time_ns, 0), 'time inside the calls');
}

/* Tree rows under the root (aria-level 2), as [key, value]. */
async function levelRows(page, level) {
  return page.$$eval('#tree-rows .row[aria-level="' + level + '"]', (rs) => rs.map((r) => [r.dataset.key, Number(r.dataset.value)]));
}

/* Sums of field f grouped by the frame at level 0 (innermost, or outermost). */
function groups(p, f, outer) {
  const g = new Map();
  for (const pp of p.pps) {
    const fr = outer ? pp.fs[pp.fs.length - 1] : pp.fs[0];
    g.set(fr, (g.get(fr) || 0) + (pp[f] || 0));
  }
  return g;
}

/* Opens the rows on pp's path (callers direction) and returns its detail numbers. */
async function openSite(page, pp) {
  let key = 'root';
  const keys = pp.fs.map((f) => (key += '.' + f));
  for (const k of keys) {
    let row = await page.$('#tree-rows .row[data-key="' + k + '"]');
    for (let i = 0; !row && i < 50; i++) {   /* paged out: press "show more" under the parent */
      const parent = k.slice(0, k.lastIndexOf('.'));
      const more = await page.$('#tree-rows .row.more[data-more="' + parent + '"] button');
      if (!more) break;
      await more.click();
      row = await page.$('#tree-rows .row[data-key="' + k + '"]');
    }
    ok(row, 'no tree row for ' + k);
    if ((await row.getAttribute('aria-expanded')) === 'false' || k === keys[keys.length - 1]) await row.click();
  }
  /* Another site's stack may go on below this one: its own row is "[the stack ends here]". */
  const end = await page.$('#tree-rows .row[data-key="' + key + '.end"]');
  if (end) await end.click();
  return {
    tb: await value(page, '#detail-tb td'), tbk: await value(page, '#detail-tbk td'),
    sites: await value(page, '#detail-sites td'), text: await text(page, '#detail-tb td'),
  };
}

async function checkTree(page, p) {
  const total = p.pps.reduce((a, pp) => a + pp.tb, 0);
  eq(await page.$eval('#tree-rows .row[data-key="root"]', (r) => Number(r.dataset.value)), total, 'tree root bytes');
  /* Callers: the first level is the allocation functions, biggest first. */
  let rows = await levelRows(page, 2);
  let g = groups(p, 'tb', false);
  ok(rows.length === Math.min(g.size, 50), 'tree level 1 has ' + rows.length + ' rows for ' + g.size + ' frames');
  for (const [k, v] of rows) eq(v, g.get(Number(k.split('.')[1])), 'tree row ' + k + ' bytes');
  ok(rows.every((r, i) => i === 0 || rows[i - 1][1] >= r[1]), 'tree rows not sorted by bytes');
  /* A site's bytes: the biggest site, opened along its stack. */
  const big = p.pps.reduce((a, b) => (b.tb > a.tb ? b : a));
  const d = await openSite(page, big);
  eq(d.sites, 1, 'selected row is one site');
  eq(d.tb, big.tb, 'biggest site bytes');
  eq(d.tbk, big.tbk, 'biggest site blocks');
  ok(d.text.startsWith(fmtInt(big.tb) + ' B'), 'site bytes text ' + d.text);
  /* Sort by blocks. */
  await page.selectOption('#tree-metric', 'tbk');
  rows = await levelRows(page, 2);
  g = groups(p, 'tbk', false);
  eq(rows[0][1], Math.max(...g.values()), 'first row after sorting by blocks');
  ok(rows.every((r, i) => i === 0 || rows[i - 1][1] >= r[1]), 'tree rows not sorted by blocks');
  /* Collapse all, then expand one row. */
  await page.click('#tree-collapse');
  const n0 = await page.$$eval('#tree-rows .row', (r) => r.length);
  eq(await page.$$eval('#tree-rows .row[aria-expanded="true"]', (r) => r.length), 1, 'open rows after collapse all');
  const closed = await page.$('#tree-rows .row[aria-level="2"][aria-expanded="false"]');
  ok(closed, 'no closed row to expand');
  const k = await closed.getAttribute('data-key');
  await closed.click();
  eq(await page.$eval('#tree-rows .row[data-key="' + k + '"]', (r) => r.getAttribute('aria-expanded')), 'true', 'expanded row');
  ok((await page.$$eval('#tree-rows .row', (r) => r.length)) > n0, 'expanding added no rows');
  /* Callees: the first level is the outermost frames. */
  await page.click('input[name="tree-dir"][value="callees"]');
  await page.selectOption('#tree-metric', 'tb');
  rows = await levelRows(page, 2);
  g = groups(p, 'tb', true);
  for (const [key, v] of rows) eq(v, g.get(Number(key.split('.')[1])), 'callees row ' + key + ' bytes');
  await page.click('input[name="tree-dir"][value="callers"]');
}

/* The flame graph drew something, zooms on a click and resizes with the metric. */
async function checkFlame(page, p) {
  const painted = await page.$eval('#flame-canvas', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return n;
  });
  ok(painted > 1000, 'flame graph canvas nearly empty (' + painted + ' pixels)');
  if (!(p.audioprof && p.audioprof.cpu))
    ok(await page.$eval('#cpuflame', (e) => e.hidden), 'a CPU flame graph section for a profile without samples');
  let st = await page.evaluate(() => AP.flame.stats());
  ok(st.drawn > 0, 'flame graph drew nothing');
  eq(st.total, p.pps.reduce((a, pp) => a + pp.tb, 0), 'flame graph total bytes');
  const box = await page.$eval('#flame-canvas', (c) => { const r = c.getBoundingClientRect(); return { w: r.width, h: r.height }; });
  /* Row 1 (below the root) is covered from end to end: every stack has a frame there. */
  await page.click('#flame-canvas', { position: { x: box.w / 2, y: 18 + 9 } });
  st = await page.evaluate(() => AP.flame.stats());
  ok(st.zoomDepth > 0, 'a click did not zoom the flame graph');
  await page.click('#flame-reset');
  eq((await page.evaluate(() => AP.flame.stats())).zoomDepth, 0, 'zoom after reset');
  await page.selectOption('#flame-metric', 'tbk');
  eq((await page.evaluate(() => AP.flame.stats())).total, p.pps.reduce((a, pp) => a + pp.tbk, 0), 'flame graph total blocks');
  await page.selectOption('#flame-metric', 'tb');
}

async function checkTimeline(page, p) {
  const tl = p.audioprof && p.audioprof.timeline;
  if (!tl || !tl.t_ns || !tl.t_ns.length) return;
  /* The heap's four lines, and two (mean, max) per callback source's load. */
  const load = tl.load || [];
  eq(await page.$$eval('svg.timeline polyline', (l) => l.length), 4 + 2 * load.length, 'timeline lines');
  const overruns = load.reduce((n, L) => n + ((p.audioprof.callbacks[L.callback] || {}).slow_cycles || [])
    .filter((k) => k.overrun === true).length, 0);
  eq(await page.$$eval('svg.timeline .overrun-mark', (l) => l.length), overruns, 'kept overruns marked on the load');
  const r = await page.$eval('svg.timeline .hit', (e) => { const b = e.getBoundingClientRect(); return { w: b.width, h: b.height }; });
  await page.hover('svg.timeline .hit', { position: { x: r.w - 2, y: r.h / 2 } });
  await page.waitForFunction(() => /t = /.test(document.getElementById('timeline-readout').textContent), null, { timeout: 5000 });
  const last = tl.t_ns.length - 1;
  const s = await text(page, '#timeline-readout');
  ok(s.includes('in ' + blocks(tl.live_k[last])), 'timeline readout "' + s + '" lacks the last sample\'s blocks');
}

/* Everything on one loaded page. */
async function checkAll(page, p, name) {
  const st = await ready(page);
  eq(st.status, 'ready', 'status (' + st.error + ')');
  await checkNumbers(page, p);
  await checkTimeline(page, p);
  await checkFlame(page, p);
  await checkTree(page, p);
  noErrors(page);
  ok(page.log.csp.length === 0, 'CSP violations: ' + page.log.csp.join(' | '));
  if (name) await shot(page, name);
}

/* ------------------------------------------------------------------ safety */

async function checkSafe(page, what) {
  const st = await ready(page);
  eq(st.status, 'ready', what + ': status (' + st.error + ')');
  await page.waitForTimeout(300);   /* give an injected handler the chance to run */
  eq(page.log.dialogs.length, 0, what + ': dialogs opened');
  eq(await page.evaluate(() => typeof window.__pwned), 'undefined', what + ': window.__pwned');
  const bad = await page.evaluate(() => {
    const out = [];
    for (const e of document.querySelectorAll('img, iframe, object, embed, foreignObject, svg:not(.timeline):not(.histogram)'))
      out.push(e.tagName);
    for (const e of document.querySelectorAll('*'))
      for (const a of e.attributes) if (/^on/i.test(a.name)) out.push(e.tagName + '[' + a.name + ']');
    return out;
  });
  eq(bad.join(','), '', what + ': injected elements or handlers');
  const body = await page.evaluate(() => document.body.textContent);
  ok(body.includes('<script>window.__pwned=1;alert(1)</script>'), what + ': the payload is not shown as text');
  ok(body.includes('</script><script>window.__pwned=3'), what + ': "</script>" not shown as text');
  noErrors(page);
}

/* ------------------------------------------------------------------ main */

async function main() {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    /* Playwright starts Chromium with a fresh temporary --user-data-dir of its own. */
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const rt = load('rt'), dsp = load('dsp'), big = load('big'), evil = load('evil'), dhat = load('dhat');
  const index = fileUrl(path.join(VIEWER, 'index.html'));

  await test('static page: the file picker opens a real profile (rtcallback)', async () => {
    const page = await newPage();
    await page.goto(index);
    await page.setInputFiles('#file-input', path.join(DIR, 'rt.json'));
    await checkAll(page, rt, 'rt-static');
    await page.done();
  });

  await test('audioprof view: the self-contained page of a real profile (rtcallback)', async () => {
    const page = await newPage();
    await page.goto(fileUrl(path.join(DIR, 'rt.html')));
    await checkAll(page, rt, 'rt');
    ok(page.log.requests.every((u) => u.startsWith('file:') || u.startsWith('data:')), 'requests: ' + page.log.requests.join(' '));
    eq(page.log.requests.length, 1, 'requests made by the self-contained page');
    await page.done();
  });

  if (dsp) {
    await test('audioprof view: dsp_demo\'s profile', async () => {
      const page = await newPage();
      await page.goto(fileUrl(path.join(DIR, 'dsp.html')));
      await checkAll(page, dsp, 'dsp_demo');
      /* dsp_demo frees what it allocates: what is left is the runtimes' (suppressed). */
      eq(await value(page, '#sum-leaked .card-exact'), 0, 'dsp_demo leaks nothing of its own');
      ok((await text(page, '#sum-leaked .card-exact')).includes('glibc atexit list'), 'the atexit list is named');
      await page.done();
    });
  } else {
    console.log('SKIP dsp_demo\'s profile: no dsp.json (dsp_demo not built)');
  }

  const cpu = load('cpu');
  await test('audioprof view: a callback\'s CPU samples as a flame graph (tests/fixtures/audio_cpu.json)', async () => {
    const page = await newPage();
    await page.goto(fileUrl(path.join(DIR, 'cpu.html')));
    eq((await ready(page)).status, 'ready', 'page state');
    const opts = await page.$$eval('#flame-metric option', (os) => os.map((o) => [o.value, o.textContent]));
    const want = opts.find((o) => o[0] === 'cpu:0');
    ok(want && want[1] === 'CPU samples: region "dsp_demo"', 'no CPU graph offered for region dsp_demo: ' + JSON.stringify(opts));
    await page.selectOption('#flame-metric', 'cpu:0');
    const st = await page.evaluate(() => AP.flame.stats());
    const samples = cpu.audioprof.cpu.stacks.filter((s) => s.callback === 0).reduce((a, s) => a + s.count, 0);
    ok(samples > 100, 'the fixture has few samples: ' + samples);
    eq(st.total, samples, 'CPU flame graph total samples');
    eq(st.metric, 'cpu', 'CPU flame graph metric');
    ok(st.drawn > 5, 'the CPU flame graph drew ' + st.drawn + ' frames');
    /* Back to the heap graph: its own total again. */
    await page.selectOption('#flame-metric', 'tb');
    eq((await page.evaluate(() => AP.flame.stats())).total, cpu.pps.reduce((a, pp) => a + pp.tb, 0), 'heap graph total bytes after the CPU one');
    /* The CPU flame graph drawn beside the heap one, on its own canvas. */
    ok(await page.$eval('#cpuflame', (e) => !e.hidden), 'the CPU flame graph section is hidden');
    ok(await page.$eval('#nav-cpuflame', (e) => !e.hidden), 'no link to the CPU flame graph');
    const copts = await page.$$eval('#cpuflame-metric option', (os) => os.map((o) => o.value));
    ok(copts.includes('cpu:0') && copts.every((v) => v.startsWith('cpu:')), 'CPU graph callbacks: ' + JSON.stringify(copts));
    const cst = await page.evaluate(() => AP.flame.cpuStats());
    eq(cst.total, samples, 'CPU flame graph beside: total samples');
    ok(cst.drawn > 5, 'the CPU flame graph beside drew ' + cst.drawn + ' frames');
    const cpainted = await page.$eval('#cpuflame-canvas', (c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
      return n;
    });
    ok(cpainted > 1000, 'CPU flame graph canvas nearly empty (' + cpainted + ' pixels)');
    /* Both graphs keep their own state: the heap one still shows bytes. */
    eq((await page.evaluate(() => AP.flame.stats())).metric, 'tb', 'heap graph metric after drawing the CPU one');
    noErrors(page);
    await page.done();
  });

  await test('drag and drop opens a profile', async () => {
    const page = await newPage();
    await page.goto(index);
    await page.evaluate((t) => {
      const dt = new DataTransfer();
      dt.items.add(new File([t], 'dropped.json', { type: 'application/json' }));
      for (const type of ['dragenter', 'dragover', 'drop'])
        document.body.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, fs.readFileSync(path.join(DIR, 'rt.json'), 'utf8'));
    const st = await ready(page);
    eq(st.status, 'ready', 'status (' + st.error + ')');
    eq(st.name, 'dropped.json', 'name');
    await checkNumbers(page, rt);
    noErrors(page);
    await page.done();
  });

  /* ?url=: a local server on the loopback address, for this test only. */
  const served = [];
  const server = http.createServer((req, res) => {
    served.push(req.url);
    const u = decodeURIComponent(req.url.split('?')[0]);
    const file = u === '/p/rt.json' ? path.join(DIR, 'rt.json') : path.join(VIEWER, path.normalize(u).replace(/^(\.\.[/\\])+/, ''));
    fs.readFile(file, (err, data) => {
      if (err) { res.writeHead(404); res.end(); return; }
      const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' :
        file.endsWith('.html') ? 'text/html' : 'application/json';
      res.writeHead(200, { 'Content-Type': type });
      res.end(data);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = 'http://127.0.0.1:' + server.address().port;

  await test('?url= loads a profile from the page\'s own origin', async () => {
    const page = await newPage();
    await page.goto(base + '/index.html?url=/p/rt.json');
    const st = await ready(page);
    eq(st.status, 'ready', 'status (' + st.error + ')');
    await checkNumbers(page, rt);
    noErrors(page);
    await page.done();
  });

  await test('?url= refuses another origin and requests nothing', async () => {
    const page = await newPage();
    served.length = 0;
    await page.goto(base + '/index.html?url=' + encodeURIComponent('http://localhost:1/evil.json'));
    const st = await ready(page);
    eq(st.status, 'error', 'status');
    ok(/own origin/.test(st.error), 'message: ' + st.error);
    ok(page.log.requests.every((u) => u.startsWith(base)), 'requests: ' + page.log.requests.join(' '));
    await page.done();
  });
  server.close();

  await test('?url= from file:// says why it cannot fetch', async () => {
    const page = await newPage();
    await page.goto(index + '?url=' + encodeURIComponent(fileUrl(path.join(DIR, 'rt.json'))));
    const st = await ready(page);
    if (st.status === 'ready') return;   /* a browser that allows it is fine too */
    ok(/http\.server/.test(st.error), 'message: ' + st.error);
    page.log.errors = [];
    await page.done();
  });

  await test('a file that is not a profile gives a message, not a broken page', async () => {
    const page = await newPage();
    await page.goto(index);
    await page.setInputFiles('#file-input', { name: 'x.json', mimeType: 'application/json', buffer: Buffer.from('{"dhatFileVersion": 1}') });
    const st = await ready(page);
    eq(st.status, 'error', 'status');
    ok(/dhatFileVersion/.test(await text(page, '#status')), 'message: ' + (await text(page, '#status')));
    await page.setInputFiles('#file-input', { name: 'y.json', mimeType: 'application/json', buffer: Buffer.from('{"dhat') });
    await page.waitForFunction(() => /not JSON/.test(document.getElementById('status').textContent), null, { timeout: 5000 });
    await page.done();
  });

  if (dhat) {
    await test('a plain valgrind DHAT file', async () => {
      const page = await newPage();
      await page.goto(index);
      await page.setInputFiles('#file-input', path.join(DIR, 'dhat.json'));
      const st = await ready(page);
      eq(st.status, 'ready', 'status (' + st.error + ')');
      await checkNumbers(page, dhat);
      ok(/no audio data/.test(await text(page, '#violations')), 'violations section');
      noErrors(page);
      await page.done();
    });
  }

  await test('safety: the malicious profile through audioprof view runs nothing', async () => {
    const page = await newPage();
    await page.goto(fileUrl(path.join(DIR, 'evil.html')));
    await checkSafe(page, 'evil.html');
    await shot(page, 'evil');
    await page.done();
  });

  await test('safety: the same without the page\'s Content-Security-Policy (text only, not CSP, keeps it safe)', async () => {
    for (const how of ['view', 'picker']) {
      const page = await newPage({ bypassCSP: true });
      if (how === 'view') {
        await page.goto(fileUrl(path.join(DIR, 'evil.html')));
      } else {
        await page.goto(index);
        await page.setInputFiles('#file-input', path.join(DIR, 'evil.json'));
      }
      await checkSafe(page, how + ' without CSP');
      eq(page.log.csp.length, 0, 'CSP messages with CSP bypassed');
      await page.done();
    }
  });

  await test('100,000 sites: load, render, sort and expand (times printed, not checked)', async () => {
    const page = await newPage();
    await page.goto(index);
    const t0 = Date.now();
    await page.setInputFiles('#file-input', path.join(DIR, 'big.json'));
    const st = await ready(page, 120000);
    const wall = Date.now() - t0;
    eq(st.status, 'ready', 'status (' + st.error + ')');
    const t = st.timings;
    console.log('  100,000 sites: ready ' + wall + ' ms after the file was chosen; in the page ' + t.total +
      ' ms (parse ' + t.parse + ', summary ' + t.summary + ', callbacks ' + t.callbacks + ', timeline ' + t.timeline +
      ', tree ' + t.tree + ', flame graph ' + t.flame + ')');
    await checkNumbers(page, big);
    const rows = await page.$$eval('#tree-rows .row', (r) => r.length);
    ok(rows < 400, rows + ' tree rows rendered');
    const fst = await page.evaluate(() => AP.flame.stats());
    ok(fst.drawn > 0 && fst.culled > 0, 'flame graph drew ' + fst.drawn + ' and culled ' + fst.culled);
    console.log('  flame graph: ' + fst.frames + ' frames, ' + fst.drawn + ' drawn, ' + fst.culled + ' too narrow; tree: ' + rows + ' rows');
    let t1 = Date.now();
    await page.selectOption('#tree-metric', 'slk');
    await page.selectOption('#flame-metric', 'tbk');
    const sortMs = Date.now() - t1;
    t1 = Date.now();
    await page.click('input[name="tree-dir"][value="callees"]');
    const calleesMs = Date.now() - t1;
    console.log('  re-sort the tree and re-lay the flame graph: ' + sortMs + ' ms; callees tree: ' + calleesMs + ' ms');
    noErrors(page);
    await shot(page, 'big');
    await page.done();
  });

  await browser.close();
  console.log('viewer: ' + passed + ' passed, ' + failed + ' failed');
  return failed ? 1 : 0;
}

main().then((rc) => process.exit(rc), (e) => {
  console.log('viewer: the test harness failed: ' + (e && e.stack ? e.stack : e));
  console.log('viewer: ' + passed + ' passed, ' + (failed + 1) + ' failed');
  process.exit(1);
});
