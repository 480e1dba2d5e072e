"""schemachk.py - checks that the profile format's other descriptions agree with its
schema (common/profile_schema.h, as printed by schema_dump.c): audioprof-json(5), the
viewer's keys, the test fixtures and their generators, and profiles the preload wrote.
Used by t_schema.sh:

    schemachk.py SCHEMA.tsv man MAN_PAGE
    schemachk.py SCHEMA.tsv viewer VIEWER_DIR
    schemachk.py SCHEMA.tsv files PROFILE.json...      written by hand or by a generator
    schemachk.py SCHEMA.tsv written PROFILE.json...    written by the preload: every
                                                       field, in the schema's order

Each problem is one line naming the place and the field; the exit status is 1 if there
was any, else 0.
"""
import json
import os
import re
import sys

PROBLEMS = []


def problem(msg):
    PROBLEMS.append(msg)


# ------------------------------------------------------------------ the schema

def load_schema(path):
    """{object path: [(key, type, unit, presence, meaning), ...]} in the schema's order."""
    schema = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 6:
                raise SystemExit("%s: not a schema line: %r" % (path, line))
            schema.setdefault(parts[0], []).append(tuple(parts[1:]))
    return schema


def keys(schema, path):
    return [f[0] for f in schema.get(path, [])]


def numeric_pp_keys(schema):
    return [f[0] for f in schema["pps[]"] if f[1] in ("UINT", "UINT64")]


# ------------------------------------------------------------------ the man page

# Each list of fields in audioprof-json(5): (section, item inside it or None, how the
# fields are written: "list" = a .Bl of .It Cm entries, "prose" = .Cm words in the
# item's text), and the schema object it describes.
MAN_PLACES = [
    ("Top-level fields", None, "list", ""),
    ("Program points", None, "list", "pps[]"),
    ("The audioprof object", None, "list", "audioprof"),
    ("The audioprof object", "totals", "list", "audioprof.totals"),
    ("The audioprof object", "symbols", "prose", "audioprof.symbols"),
    ("The audioprof object", "stack_cache", "prose", "audioprof.stack_cache"),
    ("Callbacks", None, "list", "audioprof.callbacks[]"),
    ("Callbacks", "histogram", "list", "audioprof.callbacks[].histogram"),
    ("Callbacks", "zones", "prose", "audioprof.callbacks[].zones[]"),
    ("Violations", None, "list", "audioprof.violations[]"),
    ("Timeline", None, "list", "audioprof.timeline"),
    ("Callbacks", "slow_cycles", "list", "audioprof.callbacks[].slow_cycles[]"),
    ("Timeline", "load", "list", "audioprof.timeline.load[]"),
    ("CPU samples", None, "list", "audioprof.cpu"),
    ("CPU samples", "callbacks", "prose", "audioprof.cpu.callbacks[]"),
    ("CPU samples", "stacks", "prose", "audioprof.cpu.stacks[]"),
]


def it_keys(line):
    """The field names of an ".It Cm a , b" line."""
    words = line.split()[1:]
    out = []
    for w in words:
        if w in ("Cm", ",", "No", "Ns"):
            continue
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", w):
            break
        out.append(w)
    return out


def man_section(lines, title):
    start = None
    for i, l in enumerate(lines):
        if l.strip() == ".Ss " + title:
            start = i + 1
        elif start is not None and (l.startswith(".Ss ") or l.startswith(".Sh ")):
            return lines[start:i]
    if start is None:
        problem("audioprof-json(5): no section \"%s\"" % title)
        return []
    return lines[start:]


def man_fields(lines, item, how):
    """The fields the section's lines name: of its first list (item None), or of the
    list inside / the prose of the first-level item `item`."""
    depth = 0
    in_item = False
    found_item = False
    fields = []
    for l in lines:
        if l.startswith(".Bl"):
            depth += 1
            continue
        if l.startswith(".El"):
            depth -= 1
            continue
        if depth == 1 and l.startswith(".It"):
            names = it_keys(l)
            in_item = item is not None and item in names
            found_item |= in_item
            if item is None:
                fields += names
            continue
        if not in_item:
            continue
        if how == "list" and depth == 2 and l.startswith(".It"):
            fields += it_keys(l)
        elif how == "prose" and depth >= 1:
            fields += re.findall(r"(?:^|\s)Cm\s+([A-Za-z_][A-Za-z0-9_]*)", " " + l.lstrip("."))
    if item is not None and not found_item:
        problem("audioprof-json(5): no item \"%s\" in its section" % item)
    return fields


def check_man(schema, path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lines = text.split("\n")
    for section, item, how, obj in MAN_PLACES:
        where = "audioprof-json(5), %s%s" % (section, ", " + item if item else "")
        got = man_fields(man_section(lines, section), item, how)
        want = keys(schema, obj)
        for k in want:
            if k not in got:
                problem("%s: no entry for the schema's %s%s" % (where, obj + "." if obj else "", k))
        for k in got:
            if k not in want:
                problem("%s: \"%s\" is not in the schema (%s)" % (where, k, obj or "top level"))
    # The annotated example: strip the annotations, then it must be a valid profile.
    m = re.search(r"^\.Sh EXAMPLES\n.*?^\.Bd -literal[^\n]*\n(.*?)^\.Ed", text, re.M | re.S)
    if not m:
        problem("audioprof-json(5): no example profile in EXAMPLES")
        return
    sample = "\n".join(re.sub(r"\s*//.*$", "", l) for l in m.group(1).split("\n"))
    try:
        doc = json.loads(sample.replace("\\e", "\\"))
    except ValueError as e:
        problem("audioprof-json(5), EXAMPLES: the example is not JSON: %s" % e)
        return
    check_object(schema, "", doc, "audioprof-json(5) EXAMPLES", strict=False)


# ------------------------------------------------------------------ the viewer

def js_array(text, name, where):
    m = re.search(r"\bconst %s = \[([^\]]*)\]" % name, text)
    if not m:
        problem("%s: no `const %s = [...]`" % (where, name))
        return []
    return re.findall(r"'([^']*)'", m.group(1))


def js_props(text, var):
    return set(re.findall(r"(?<![\w.])%s\.([A-Za-z_]\w*)" % re.escape(var), text))


def js_function(text, name):
    m = re.search(r"^function %s\b.*?^}" % name, text, re.M | re.S)
    return m.group(0) if m else ""


def check_viewer(schema, d):
    def read(name):
        with open("%s/js/%s" % (d, name), encoding="utf-8") as f:
            return f.read()
    want = numeric_pp_keys(schema)
    got = js_array(read("profile.js"), "FIELDS", "viewer/js/profile.js")
    if got != want:
        problem("viewer/js/profile.js: FIELDS is %s; the schema's program-point numbers are %s"
                % (got, want))
    # No other list of them: the other views take profile.js's (P.FIELDS).
    for js in sorted(n for n in os.listdir(d + "/js") if n.endswith(".js") and n != "profile.js"):
        for lit in re.findall(r"\[((?:\s*'[A-Za-z_]\w*'\s*,?)+)\]", read(js)):
            names = re.findall(r"'([^']*)'", lit)
            if len(names) >= 3 and all(n in want for n in names):
                problem("viewer/js/%s: a list of program-point fields of its own, %s; use "
                        "profile.js's P.FIELDS" % (js, names))
    profile, audio, summary, timeline = (read(n) for n in
                                         ("profile.js", "audio.js", "summary.js", "timeline.js"))
    uses = [
        ("audio.js", audio, "c", "audioprof.callbacks[]", set()),
        ("audio.js", audio, "z", "audioprof.callbacks[].zones[]", set()),
        ("audio.js", audio, "h", "audioprof.callbacks[].histogram", set()),
        ("profile.js", profile, "o", "", set()),
        ("profile.js", profile, "ap", "audioprof", set()),
        ("profile.js", profile, "pp", "pps[]", set()),
        ("profile.js", js_function(profile, "readTotals"), "t", "audioprof.totals", set()),
        ("profile.js", js_function(profile, "readTimeline"), "t", "audioprof.timeline", set()),
        ("profile.js", " ".join("t." + c for c in js_array(
            js_function(profile, "readTimeline"), "cols", "viewer/js/profile.js, readTimeline")),
         "t", "audioprof.timeline", set()),
        ("summary.js", summary, "ap", "audioprof", set()),
        ("summary.js", summary, "c", "audioprof.callbacks[]", set()),
        ("summary.js", summary, "cb", "audioprof.callbacks[]", set()),
        ("timeline.js", timeline, "tl", "audioprof.timeline", {"length"}),
    ]
    m = re.search(r"ap\.violations\.filter.*?\.map\(\(v\) => \(\{(.*?)\}\)\)", profile, re.S)
    if m:
        uses.append(("profile.js", m.group(1), "v", "audioprof.violations[]", set()))
    else:
        problem("viewer/js/profile.js: cannot find where it reads the violations")
    for js, text, var, obj, extra in uses:
        allowed = set(keys(schema, obj)) | extra
        for k in sorted(js_props(text, var) - allowed):
            problem("viewer/js/%s: %s.%s is not a field of %s in the schema"
                    % (js, var, k, obj or "the top level"))


# ------------------------------------------------------------------ profiles

def type_ok(t, v):
    isint = isinstance(v, int) and not isinstance(v, bool)
    if t == "UINT":
        return isint and 0 <= v <= 2 ** 62
    if t == "UINT64":
        return isint and 0 <= v < 2 ** 63
    if t == "SINT":
        return isint and v >= -1
    if t == "VERSION":
        return isint and v >= 1
    if t == "NUM":
        return (isint or isinstance(v, float)) and v >= 0
    if t == "STR":
        return isinstance(v, str)
    if t == "BOOL":
        return isinstance(v, bool)
    if t == "FRAMES":
        return isinstance(v, list) and len(v) > 0 and all(
            isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in v)
    if t == "INTS":
        return isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
    if t == "STRS":
        return isinstance(v, list) and all(isinstance(x, str) for x in v)
    if t == "OBJECT":
        return isinstance(v, dict)
    if t == "OBJECTS":
        return isinstance(v, list) and all(isinstance(x, dict) for x in v)
    return False


# DHAT's access data, in valgrind's files with "bkacc": true; audioprof neither writes
# nor reads it, so it is not in the schema.
DHAT_ACCESS = {"rb", "wb", "acc"}


def check_object(schema, path, obj, where, strict, bklt=None, bkacc=False):
    """obj, at `path` in a profile: only the schema's fields, of its types, those it
    requires; strict (the preload's own files): every field but the OPTIONAL ones, in
    the schema's order."""
    fields = schema[path]
    known = {f[0]: f for f in fields}
    here = where if path else where + ": top level"
    if path == "":
        bklt = obj.get("bklt") is True
        bkacc = obj.get("bkacc") is True and "audioprof" not in obj
    for k in obj:
        if k not in known and not (bkacc and path == "pps[]" and k in DHAT_ACCESS):
            problem("%s: \"%s\" is not in the schema" % (here, k))
    for key, t, unit, presence, what in fields:
        need = presence == "ALWAYS" or (presence == "BKLT" and bklt) or \
            (strict and presence in ("AUDIOPROF", "NEWER"))
        if key not in obj:
            if need:
                problem("%s: no \"%s\" (%s)" % (here, key, presence))
            continue
        v = obj[key]
        if not type_ok(t, v):
            problem("%s: \"%s\" is %s, not of type %s" % (here, key, json.dumps(v)[:40], t))
            continue
        sub = path + "." + key if path else key
        at = (here if path else where) + ("." if path else ": ") + key
        if t == "OBJECT" and sub in schema:
            check_object(schema, sub, v, at, strict, bklt, bkacc)
        elif t == "OBJECTS" and sub + "[]" in schema:
            for i, e in enumerate(v[:200]):
                check_object(schema, sub + "[]", e, "%s[%d]" % (at, i), strict, bklt, bkacc)
    if strict:
        order = [k for k in keys(schema, path) if k in obj]
        got = [k for k in obj if k in known]
        if got != order:
            problem("%s: fields in the order %s, the schema's is %s" % (here, got, order))


def check_files(schema, paths, strict):
    for p in paths:
        with open(p, encoding="utf-8") as f:
            doc = json.load(f)
        check_object(schema, "", doc, p, strict)


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    schema = load_schema(argv[1])
    what, args = argv[2], argv[3:]
    if what == "man":
        check_man(schema, args[0])
    elif what == "viewer":
        check_viewer(schema, args[0])
    elif what in ("files", "written"):
        check_files(schema, args, what == "written")
    else:
        sys.stderr.write(__doc__)
        return 2
    for p in PROBLEMS:
        print("  " + p)
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
