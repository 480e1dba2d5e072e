#!/usr/bin/env bash
# demo.sh - the demo of `make demo`: profiles dsp_demo on the null backend with
# `audioprof run`, clean and with one malloc injected into its audio callback every 10
# cycles (the two runs at the same time), and shows the key parts of `audioprof report` for
# both (program, totals, audio callbacks, real-time violations, advice): side by side when
# the terminal is wide enough for both, else one after the other. Then a verdict computed
# from the profiles' callback data (audioprof.callbacks[] and .violations[], the "region"
# source "dsp_demo"), `audioprof check` on both, and where the profiles and HTML viewer
# pages went.
#
# Exit status 0 when the clean run made no allocation in the callback and the injected run
# has exactly as many allocations flagged at inject_alloc as dsp_demo says it injected (and
# `audioprof check` agrees: exit 0 and 1); 1 otherwise, or when a step fails.
#
#   dsp_demo/demo.sh        (after `make`, which also builds dsp_demo)
#   DEMO_SECONDS=N          length of each run (default 3; N >= 0.3 so that faults happen)
#   DEMO_OUT=DIR            where the profiles go (default build/demo)
#   COLUMNS=N               the width to lay out for (default: the terminal's, else 100)
#   NO_COLOR=1              no colour even on a terminal
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
ap=$root/analyzer/audioprof
dsp=$here/dsp_demo
secs=${DEMO_SECONDS:-3}
out=${DEMO_OUT:-$root/build/demo}
every=10

for f in "$ap" "$dsp" "$root/preload/libaudioprof.so"; do
	[ -e "$f" ] || { echo "demo: $f is not built (run make)" >&2; exit 1; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
# rel PATH: PATH relative to the current directory when it is below it
rel() { case $1 in "$PWD"/*) printf '%s\n' "${1#"$PWD"/}" ;; *) printf '%s\n' "$1" ;; esac; }

# Both runs name the program plain `dsp_demo` (found in PATH), so that is what the
# profiles and reports show as the command.
clean_args=(--backend null --duration "$secs")
alloc_args=(--backend null --duration "$secs" --inject "alloc:$every")
echo "demo: profiling dsp_demo for $secs s on the null backend (a real-time thread, no sound card),"
echo "      clean and with a 256-byte malloc injected into its audio callback every $every cycles:"
echo "  audioprof run -o $(rel "$out/clean.json") -- dsp_demo ${clean_args[*]}"
echo "  audioprof run -o $(rel "$out/alloc.json") -- dsp_demo ${alloc_args[*]}"
pids=()
for name in clean alloc; do
	rm -f "$out/$name".{json,html,out,err}
	if [ $name = clean ]; then args=("${clean_args[@]}"); else args=("${alloc_args[@]}"); fi
	PATH="$here:$PATH" "$ap" run -q -o "$out/$name.json" -- dsp_demo "${args[@]}" \
		>"$out/$name.out" 2>"$out/$name.err" </dev/null &
	pids+=($!)
done
i=0
for name in clean alloc; do
	rc=0
	wait "${pids[$i]}" || rc=$?
	i=$((i + 1))
	if [ $rc -ne 0 ] || [ ! -s "$out/$name.json" ]; then
		cat "$out/$name.err" >&2
		echo "demo: the $name run failed (exit $rc)" >&2
		exit 1
	fi
	"$ap" view -o "$out/$name.html" "$out/$name.json" 2>"$out/$name.view.err" ||
		{ cat "$out/$name.view.err" >&2; echo "demo: audioprof view failed on $out/$name.json" >&2; exit 1; }
	rm -f "$out/$name.view.err"
done

python3 - "$ap" "$out" "$every" <<'PY'
import itertools, json, os, re, shutil, subprocess, sys

ap, out, every = sys.argv[1], sys.argv[2], int(sys.argv[3])
RUNS = [("clean", "clean"), ("alloc", "--inject alloc:%d" % every)]
width = shutil.get_terminal_size((100, 24)).columns
tty = sys.stdout.isatty() and not os.environ.get("NO_COLOR")

def color(code, s):
    return "\033[%sm%s\033[0m" % (code, s) if tty else s

def bold(s):
    return color("1", s)

def rel(path):
    r = os.path.relpath(path)
    return path if r.startswith("..") else r

def path(name, ext):
    return rel(os.path.join(out, name + "." + ext))

def fail(msg):
    sys.exit("demo: " + msg)

# ---------------------------------------------------------------- the reports

HEADER_KEEP = ("Program", "Allocated", "Peak", "Leaked", "Suppressed")
SECTIONS_KEEP = ("Audio callbacks", "Real-time violations", "Advice")
ADVICE = re.compile(r"^  (error|warning|info)\s+\[([\w-]+)\]")

def report(name, cols):
    """The key parts of `audioprof report` on a profile, laid out for cols columns: a list of
    sections, each a list of lines. From the header: program, totals and what the
    suppressions left out (the C and C++ runtimes' own leaks); the sections on
    audio callbacks, violations and advice as they are, except that advice below "error"
    is summed up in one line (`audioprof report FILE` shows it all)."""
    r = subprocess.run([ap, "report", "--top", "1", "--color", "never", path(name, "json")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, COLUMNS=str(cols)))
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        fail("audioprof report failed on " + path(name, "json"))
    sections = []                 # a section: from a heading in column 0 to the next one
    for chunk in r.stdout.rstrip("\n").split("\n\n"):
        if chunk.startswith(" ") and sections:
            sections[-1] += [""] + chunk.split("\n")
        else:
            sections.append(chunk.split("\n"))
    head, keep = [], False
    for l in sections[0]:         # a kept line with its wrapped continuation lines
        keep = l.split(" ", 1)[0] in HEADER_KEEP if not l.startswith(" ") else keep
        if keep:
            head.append(l)
    kept = [head]
    for s in sections[1:]:
        if not s[0].startswith(SECTIONS_KEEP):
            continue
        if s[0] == "Advice":
            lines, s, hidden, show = s[1:], s[:1], {}, True
            for l in lines:
                m = ADVICE.match(l)
                if m:
                    show = m.group(1) == "error"
                    if not show:
                        key = "%s [%s]" % (m.group(1), m.group(2))
                        hidden[key] = hidden.get(key, 0) + 1
                if show:
                    s.append(l)
            if hidden:
                s.append("  (%s not shown here)" % ", ".join(
                    "%d %s" % (n, k.replace("warning ", "warnings ") if n > 1 else k)
                    for k, n in sorted(hidden.items())))
        kept.append(s)
    return kept

def title(name, label):
    return "clean run" if name == "clean" else "injected run (%s)" % label

def show_reports():
    colw = min((width - 3) // 2, 100)
    side = [report(n, colw) for n, _ in RUNS]
    fits = all(len(l) <= colw for rep in side for s in rep for l in s)
    print()
    if fits:
        heads = ["%s  (audioprof report, excerpt)" % title(n, l) for n, l in RUNS]
        print(bold(" | ".join(h[:colw].ljust(colw) for h in heads).rstrip()))
        print("-" * colw + "-+-" + "-" * colw)
        for i, (a, b) in enumerate(itertools.zip_longest(*side, fillvalue=[])):
            if i:
                print(" " * colw + " |")
            for j in range(max(len(a), len(b))):
                la = a[j] if j < len(a) else ""
                lb = b[j] if j < len(b) else ""
                print((la.ljust(colw) + " | " + lb).rstrip())
        return
    for k, (n, label) in enumerate(RUNS):
        if k:
            print()
        h = "== %s   (audioprof report %s, excerpt) " % (title(n, label), path(n, "json"))
        print(bold(h + "=" * max(3, min(width, 100) - len(h))))
        print("\n\n".join("\n".join(s) for s in report(n, min(width, 100))))

# ---------------------------------------------------------------- the verdict

def dsp_summary(name):
    """dsp_demo's own key=value summary line (on its stderr)."""
    with open(os.path.join(out, name + ".err")) as f:
        for line in f:
            if line.startswith("dsp_demo: backend="):
                return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    fail("no dsp_demo summary line in " + path(name, "err"))

def func(frame):
    """'0x4011A6: f (t.c:3)' -> 'f'; '0x7F..: foo+0x1f (in /lib/x.so)' -> 'foo'."""
    s = re.sub(r"^0x[0-9A-Fa-f]+: ", "", frame)
    s = re.sub(r" \([^()]*\)$", "", s)
    return re.sub(r"\+0x[0-9A-Fa-f]+$", "", s)

def callback_data(name):
    """From the profile: the "dsp_demo" region callback(s) and their allocation violations."""
    with open(os.path.join(out, name + ".json")) as f:
        p = json.load(f)
    a = p.get("audioprof", {})
    cbs = [c for c in a.get("callbacks", []) if c.get("api") == "region" and c.get("name") == "dsp_demo"]
    if not cbs:
        fail("%s has no callback region \"dsp_demo\": is dsp_demo built with the zone API?"
             % path(name, "json"))
    ids = {c["id"] for c in cbs}
    viol = [v for v in a.get("violations", []) if v.get("callback") in ids]
    allocs = [v for v in viol if v.get("kind") == "alloc"]
    ftbl = p["ftbl"]
    for v in allocs:
        v["funcs"] = [func(ftbl[i]) for i in v["fs"]]
        v["where"] = re.sub(r"^0x[0-9A-Fa-f]+: ", "", ftbl[v["fs"][1]]) if len(v["fs"]) > 1 else "?"
    return {"cycles": sum(c["count"] for c in cbs),
            "allocs": sum(c["allocs"] for c in cbs),
            "rt_unsafe": sum(c["rt_unsafe"] for c in cbs),
            "alloc_viol": allocs,
            "lost": a.get("violations_lost", 0)}

def plural(n, what):
    return "%d %s%s" % (n, what, "" if n == 1 else "s")

def verdict():
    ok = True
    good, bad = color("32", "PASS"), color("31;1", "FAIL")
    print()
    print(bold("Verdict") + "  (from the callback data in the profiles: region \"dsp_demo\")")

    c = callback_data("clean")
    flagged = sum(v["count"] for v in c["alloc_viol"])
    clean_ok = c["allocs"] == 0 and flagged == 0
    ok &= clean_ok
    print("  %s  clean run:    %s in the callback in %d cycles (%s)" % (
        good if clean_ok else bad, plural(c["allocs"], "allocation"), c["cycles"],
        plural(c["rt_unsafe"], "other unsafe call")))
    if flagged != c["allocs"]:
        print("                      but %s flagged as violations" % plural(flagged, "allocation"))

    k = int(dsp_summary("alloc").get("injected", "0"))
    d = callback_data("alloc")
    flagged = sum(v["count"] for v in d["alloc_viol"])
    at = [v for v in d["alloc_viol"] if "inject_alloc" in v["funcs"]]
    n_at = sum(v["count"] for v in at)
    alloc_ok = k > 0 and d["allocs"] == k and flagged == k and n_at == k and d["lost"] == 0
    ok &= alloc_ok
    where = ", ".join(sorted({v["where"] for v in at})) or "inject_alloc"
    print("  %s  injected run: %s flagged in the callback in %d cycles," % (
        good if alloc_ok else bad, plural(flagged, "allocation"), d["cycles"]))
    print("                      %s at %s; dsp_demo says injected=%d" % (
        "all" if n_at == flagged and flagged else n_at, where, k))
    if k == 0:
        print("                      no fault was injected: DEMO_SECONDS is too short")
    if d["allocs"] != flagged:
        print("                      but the callback counted %s" % plural(d["allocs"], "allocation"))
    if d["lost"]:
        print("                      %d violation stacks were not recorded" % d["lost"])

    print()
    print(bold("audioprof check") + "  (for CI: exit 1 when a callback allocates or blocks)")
    for name, want, extra in (("clean", 0, ["-v"]), ("alloc", 1, [])):
        args = ["check", "--max-rt-unsafe", "0"] + extra + [path(name, "json")]
        r = subprocess.run([ap] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        good_rc = r.returncode == want
        ok &= good_rc
        print("  $ audioprof %s   -> exit %d%s" % (" ".join(args), r.returncode,
              "" if good_rc else "  %s (expected %d)" % (bad, want)))
        for l in r.stdout.splitlines():
            print("    " + l)

    print()
    print(bold("Written") + "  (`audioprof report FILE` shows a whole report)")
    print("  profiles: %s  %s" % (path("clean", "json"), path("alloc", "json")))
    print("  viewers:  %s  %s  (open in a browser)" % (path("clean", "html"), path("alloc", "html")))
    return ok

show_reports()
sys.exit(0 if verdict() else 1)
PY
