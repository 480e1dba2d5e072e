#!/usr/bin/env node
// dhview_load.js - loads a profile into valgrind's own DHAT viewer, unmodified, the way
// its page would, and says whether the viewer accepted it.
//
//   node dhview_load.js [--print] [--viewer PATH] FILE
//
// dh_view.js (default /usr/libexec/valgrind/dh_view.js, or $DH_VIEW_JS) runs in a
// sandbox with a minimal DOM shim. As in the browser: onLoad() builds the page, the
// file input's onchange calls loadFile(), a FileReader reads FILE as UTF-8 text and
// its onload parses the JSON, runs buildTree() (checkFields, checkPP, the radix tree,
// which rejects repeated frame lists) and displayTree(). Then every sort metric the
// viewer enables for this file is selected in turn, as a user would, which renders the
// tree again with that metric's significance test.
//
// Accepted: no exception, no "error" element on the page, gRoot built, the tree
// rendered with its "Invocation" and "Times" blocks, and no "NaN" or "undefined" in the
// text (what a missing or non-numeric field shows as). Also refused, though the viewer
// takes them and then shows them wrongly: numbers that are not JSON numbers (it
// concatenates strings), a missing "tl", ftbl[0] other than "[root]", and fs indices
// outside 1..|ftbl|-1 (shown as "undefined" or as "[root]").
// Exit 0 and one summary line on stdout; --print also prints the rendered page text.
// Rejected: exit 1 and the viewer's (or our) message on stderr. Usage or setup
// errors: exit 2.
"use strict";

const fs = require("fs");
const path = require("path");
const vm = require("vm");
const { performance } = require("perf_hooks");

const DEFAULT_VIEWER = process.env.DH_VIEW_JS || "/usr/libexec/valgrind/dh_view.js";

function usage(msg) {
  if (msg) {
    process.stderr.write(`dhview_load: ${msg}\n`);
  }
  process.stderr.write("usage: dhview_load.js [--print] [--viewer PATH] FILE\n");
  process.exit(2);
}

// ------------------------------------------------------------ DOM shim

class Node {
  constructor() {
    this.parentNode = null;
    this.childNodes = [];
  }
  appendChild(c) {
    if (c.parentNode) {
      c.parentNode.removeChild(c);
    }
    c.parentNode = this;
    this.childNodes.push(c);
    return c;
  }
  removeChild(c) {
    const i = this.childNodes.indexOf(c);
    if (i >= 0) {
      this.childNodes.splice(i, 1);
      c.parentNode = null;
    }
    return c;
  }
  replaceChild(nw, old) {
    const i = this.childNodes.indexOf(old);
    if (i < 0) {
      throw new Error("replaceChild: not a child");
    }
    if (nw.parentNode) {
      nw.parentNode.removeChild(nw);
    }
    this.childNodes[this.childNodes.indexOf(old)] = nw;
    nw.parentNode = this;
    old.parentNode = null;
    return old;
  }
  get nextSibling() {
    if (!this.parentNode) {
      return null;
    }
    const sibs = this.parentNode.childNodes;
    return sibs[sibs.indexOf(this) + 1] || null;
  }
  get textContent() {
    return this.childNodes.map((c) => c.textContent).join("");
  }
  set textContent(t) {
    for (const c of this.childNodes) {
      c.parentNode = null;
    }
    this.childNodes = [];
    if (t !== "") {
      this.appendChild(new Text(String(t)));
    }
  }
}

class Text extends Node {
  constructor(data) {
    super();
    this.data = data;
  }
  get textContent() {
    return this.data;
  }
  set textContent(t) {
    this.data = String(t);
  }
}

class ClassList {
  constructor(el) {
    this.el = el;
  }
  list() {
    return this.el.className.split(/\s+/).filter((c) => c);
  }
  contains(c) {
    return this.list().includes(c);
  }
  add(c) {
    if (!this.contains(c)) {
      this.el.className = this.list().concat([c]).join(" ");
    }
  }
  remove(c) {
    this.el.className = this.list().filter((x) => x !== c).join(" ");
  }
  toggle(c) {
    if (this.contains(c)) {
      this.remove(c);
      return false;
    }
    this.add(c);
    return true;
  }
}

class Element extends Node {
  constructor(tagName) {
    super();
    this.tagName = tagName.toUpperCase();
    this.className = "";
    this.classList = new ClassList(this);
  }
  cloneNode(deep) {
    if (deep) {
      throw new Error("cloneNode(true) not supported by the shim");
    }
    const e = makeElement(this.tagName.toLowerCase());
    e.className = this.className;
    return e;
  }
  click() {
    if (this.onclick) {
      this.onclick({ target: this });
    }
  }
}

// <select>: selectedIndex follows the options' `selected`, as in a browser (one
// selected option; none marked means the first enabled one).
class SelectElement extends Element {
  get selectedIndex() {
    const i = this.childNodes.findIndex((o) => o._selected);
    if (i >= 0) {
      return i;
    }
    const j = this.childNodes.findIndex((o) => !o.disabled);
    return j >= 0 ? j : -1;
  }
  set selectedIndex(i) {
    this.childNodes.forEach((o, k) => { o._selected = k === i; });
  }
}

class OptionElement extends Element {
  constructor() {
    super("option");
    this._selected = false;
    this.disabled = false;
  }
  get selected() {
    return this.parentNode ? this.parentNode.selectedIndex === this.parentNode.childNodes.indexOf(this)
                           : this._selected;
  }
  set selected(v) {
    if (v && this.parentNode) {
      for (const o of this.parentNode.childNodes) {
        o._selected = false;
      }
    }
    this._selected = !!v;
  }
}

function makeElement(tag) {
  switch (tag.toLowerCase()) {
    case "select": return new SelectElement("select");
    case "option": return new OptionElement();
    default: return new Element(tag);
  }
}

// Depth-first search for elements with a class.
function findByClass(node, cls, out = []) {
  if (node instanceof Element && node.classList.contains(cls)) {
    out.push(node);
  }
  for (const c of node.childNodes) {
    findByClass(c, cls, out);
  }
  return out;
}

// ------------------------------------------------------------ FileReader shim

function makeFileReader(pending) {
  return class FileReader {
    readAsText(file) {
      pending.push(new Promise((resolve) => {
        fs.readFile(file._path, (err, buf) => {
          try {
            if (err) {
              this.error = err;
              if (this.onerror) {
                this.onerror({ target: this });
              }
            } else {
              // Browsers decode as UTF-8 by default, dropping a BOM and replacing
              // invalid bytes; TextDecoder does the same.
              this.result = new TextDecoder("utf-8").decode(buf);
              if (this.onload) {
                this.onload({ target: this });
              }
            }
            resolve(null);
          } catch (ex) {
            resolve(ex);   // an exception escaping the handler, as the console would show
          }
        });
      }));
    }
  };
}

// ------------------------------------------------------------ display checks

// Problems the viewer does not reject but displays wrongly, or null.
function displayProblem(data) {
  const isNum = (v) => typeof v === "number" && Number.isFinite(v);
  for (const f of ["te", "pid"].concat(data.bklt ? ["tg", "tuth"] : [])) {
    if (!isNum(data[f])) {
      return `${f} is not a number`;
    }
  }
  if (!Array.isArray(data.ftbl) || data.ftbl[0] !== "[root]") {
    return 'ftbl[0] is not "[root]"';
  }
  const ppFields = ["tb", "tbk", "tl"].concat(
    data.bklt ? ["mb", "mbk", "gb", "gbk", "eb", "ebk"] : [],
    data.bkacc ? ["rb", "wb"] : []);
  for (const [i, pp] of data.pps.entries()) {
    for (const f of ppFields) {
      if (!isNum(pp[f])) {
        return `pps[${i}].${f} is ${pp[f] === undefined ? "missing" : "not a number"}`;
      }
    }
    if (!Array.isArray(pp.fs) || pp.fs.length === 0) {
      return `pps[${i}].fs is not a non-empty array`;
    }
    for (const x of pp.fs) {
      if (!Number.isInteger(x) || x < 1 || x >= data.ftbl.length) {
        return `pps[${i}].fs has frame index ${JSON.stringify(x)} (must be 1..${data.ftbl.length - 1})`;
      }
    }
  }
  return null;
}

// ------------------------------------------------------------ main

async function main() {
  let print = false;
  let viewer = DEFAULT_VIEWER;
  const files = [];
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--print") {
      print = true;
    } else if (args[i] === "--viewer") {
      viewer = args[++i];
      if (!viewer) {
        usage("--viewer needs a path");
      }
    } else if (args[i] === "--help" || args[i] === "-h") {
      process.stdout.write("usage: dhview_load.js [--print] [--viewer PATH] FILE\n");
      process.exit(0);
    } else if (args[i].startsWith("--")) {
      usage(`unknown option ${args[i]}`);
    } else {
      files.push(args[i]);
    }
  }
  if (files.length !== 1) {
    usage("exactly one FILE expected");
  }
  const file = files[0];

  let source;
  try {
    source = fs.readFileSync(viewer, "utf8");
  } catch (e) {
    process.stderr.write(`dhview_load: cannot read the viewer ${viewer}: ${e.message}\n`);
    process.exit(2);
  }

  const pending = [];
  const body = new Element("body");
  const document = {
    title: "",
    body,
    location: { search: "" },
    createElement: makeElement,
    createTextNode: (t) => new Text(String(t)),
  };
  const logs = [];
  const sandbox = {
    document,
    performance,
    URLSearchParams,
    TextDecoder,
    FileReader: makeFileReader(pending),
    console: { log: (...a) => logs.push(a.join(" ")), error: (...a) => logs.push(a.join(" ")),
               warn: (...a) => logs.push(a.join(" ")) },
  };
  sandbox.window = sandbox;
  const ctx = vm.createContext(sandbox);

  const reject = (msg) => {
    process.stderr.write(`dhview_load: ${file}: rejected: ${msg}\n`);
    process.exit(1);
  };

  try {
    vm.runInContext(source, ctx, { filename: viewer });
    vm.runInContext("onLoad()", ctx);   // <body onload="onLoad()">
  } catch (e) {
    process.stderr.write(`dhview_load: the viewer failed to start: ${e.stack || e}\n`);
    process.exit(2);
  }

  const get = (expr) => vm.runInContext(expr, ctx);
  const input = get("gInput");
  if (!input || typeof input.onchange !== "function") {
    process.stderr.write("dhview_load: the viewer has no file input (changed dh_view.js?)\n");
    process.exit(2);
  }

  // The user picks the file: input.files[0] and a change event.
  input.files = [{ name: path.basename(file), _path: file }];
  let thrown = null;
  try {
    input.onchange({ target: input });
  } catch (e) {
    thrown = e;
  }
  for (const r of await Promise.all(pending)) {
    thrown = thrown || r;
  }
  pending.length = 0;

  const pageError = () => {
    const errs = findByClass(get("gMainDiv"), "error");
    return errs.length ? errs.map((e) => e.textContent).join("; ") : null;
  };
  let err = pageError();
  if (err || thrown) {
    reject(err || String(thrown));
  }
  if (get("gRoot") === undefined) {
    reject("no tree was built");
  }

  // Every sort metric the viewer enables for this file, as the menu would.
  const select = get("gSelect");
  const enabled = select.childNodes.map((o, i) => [o, i]).filter(([o]) => !o.disabled);
  const pages = [];
  for (const [option, i] of enabled) {
    option.selected = true;
    try {
      select.onchange({ target: select });
    } catch (e) {
      reject(`sort metric "${option.label}": ${e}`);
    }
    err = pageError();
    if (err) {
      reject(`sort metric "${option.label}": ${err}`);
    }
    if (select.selectedIndex !== i) {
      reject("sort metric menu out of step");
    }
    pages.push([option.label, get("gMainDiv").textContent]);
  }

  const defaultIndex = enabled.findIndex(([o]) => o.textContent === "Total (blocks)");
  const text = pages[defaultIndex >= 0 ? defaultIndex : 0][1];
  for (const [label, t] of pages) {
    if (!/Invocation \{/.test(t) || !/Times \{/.test(t) || !/PP 1\/1 /.test(t)) {
      reject(`sort metric "${label}": the tree was not rendered`);
    }
    // Frame lines and the command line are the program's own text; the rest is numbers.
    const numeric = t.split("\n").filter((l) => !/^[\s│├└─]*[#^]\d+: /.test(l) &&
                                                 !/^\s*Command: /.test(l)).join("\n");
    const bad = numeric.match(/.*\b(NaN|undefined)\b.*/);
    if (bad) {
      reject(`sort metric "${label}": the page shows "${bad[1]}" (a missing or ` +
             `non-numeric field): ${bad[0].trim()}`);
    }
  }

  // Loaded, but would it show right? The viewer takes numbers in strings (it then
  // concatenates them) and out-of-range frame indices (shown as "undefined") silently.
  const data = get("gData");
  const wrong = displayProblem(data);
  if (wrong) {
    reject(`accepted by the viewer but shown wrongly: ${wrong}`);
  }

  const nPps = get("gData.pps.length");
  const nFrames = get("gData.ftbl.length");
  const root = get("gRoot");
  if (print) {
    process.stdout.write(text);
  }
  process.stdout.write(`dhview_load: ${file}: accepted: ${nPps} program points, ` +
                       `${nFrames} frames, ${root._totalBytes} bytes in ` +
                       `${root._totalBlocks} blocks, ${enabled.length} sort metrics\n`);
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`dhview_load: internal error: ${e.stack || e}\n`);
  process.exit(2);
});
