#!/usr/bin/env bash
# demo.sh - the demo of `make demo`: profiles dsp_demo on the null backend with
# `audioprof run`, once clean and once with an allocation injected into the audio
# callback every 10 cycles, and prints the two side by side: dsp_demo's own summary
# (cycles, worst callback, faults injected) and, from each profile, the allocation
# totals and the allocations made inside the callback (stacks through dsp_process),
# by site. Exits 1 if the clean run allocated in the callback or the injected
# allocations were not all found at inject_alloc.
#
#   dsp_demo/demo.sh        (after `make` and `make -C dsp_demo`)
#   DEMO_SECONDS=N          length of each run (default 3)
#   DEMO_OUT=DIR            where the profiles go (default build/demo)
#
# TODO(report issue): the summary becomes `audioprof report`, and "in the callback"
# the profiler's own real-time region detection, once those exist.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
ap=$root/analyzer/audioprof
dsp=$here/dsp_demo
secs=${DEMO_SECONDS:-3}
out=${DEMO_OUT:-$root/build/demo}
every=10

for f in "$ap" "$dsp"; do
	[ -x "$f" ] || { echo "demo: $f is not built (run make, then make -C dsp_demo)" >&2; exit 1; }
done
mkdir -p "$out"

# run NAME ARGS...: profile dsp_demo into $out/NAME.json; its stderr into $out/NAME.err
run() {
	local name=$1
	shift
	rm -f "$out/$name.json"
	echo "demo: audioprof run -o $out/$name.json -- dsp_demo $*"
	if ! "$ap" run -q -o "$out/$name.json" -- "$dsp" "$@" >"$out/$name.out" 2>"$out/$name.err"; then
		cat "$out/$name.err" >&2
		echo "demo: the $name run failed" >&2
		exit 1
	fi
	[ -f "$out/$name.json" ] || { cat "$out/$name.err" >&2; echo "demo: no profile from the $name run" >&2; exit 1; }
}

run clean --backend null --duration "$secs"
run alloc --backend null --duration "$secs" --inject "alloc:$every"
echo

python3 - "$out" "$every" <<'PY'
import json, os, re, sys

out, every = sys.argv[1], int(sys.argv[2])
runs = [("clean", "clean"), ("alloc", "--inject alloc:%d" % every)]

def summary(name):
    """dsp_demo's own key=value summary line (on its stderr)."""
    with open(os.path.join(out, name + ".err")) as f:
        for line in f:
            if line.startswith("dsp_demo: backend="):
                return dict(kv.split("=", 1) for kv in line.split()[1:])
    sys.exit("demo: no dsp_demo summary in %s.err" % name)

def func(frame):
    """'0x4011A6: f (t.c:3)' -> 'f'; '0x7F..: foo+0x1f (in /lib/x.so)' -> 'foo'."""
    s = re.sub(r"^0x[0-9A-Fa-f]+: ", "", frame)
    s = re.sub(r" \([^()]*\)$", "", s)
    return re.sub(r"\+0x[0-9A-Fa-f]+$", "", s)

def where(frame):
    """'0x4011A6: f (t.c:3)' -> 'f (t.c:3)'."""
    return re.sub(r"^0x[0-9A-Fa-f]+: ", "", frame)

def profile(name):
    with open(os.path.join(out, name + ".json")) as f:
        p = json.load(f)
    ftbl, t = p["ftbl"], p["audioprof"]["totals"]
    cb = []                       # allocation sites with dsp_process on the stack
    for pp in p["pps"]:
        frames = [ftbl[i] for i in pp["fs"]]
        fns = [func(x) for x in frames]
        if "dsp_process" in fns:
            stop = fns.index("dsp_process")
            chain = " <- ".join([fns[0]] + [where(x) for x in frames[1:stop + 1]])
            cb.append((pp["tbk"], pp["tb"], pp["ebk"], chain, fns))
    cb.sort(key=lambda c: -c[0])
    return {"blocks": t["total_k"], "bytes": t["total_b"], "sites": len(p["pps"]),
            "live": t["curr_k"], "cb": cb}

def mb(b):
    return "%.1f MB" % (b / 1e6) if b >= 1e5 else "%d B" % b

S = {n: summary(n) for n, _ in runs}
P = {n: profile(n) for n, _ in runs}
rows = [
    ("dsp_demo", None),
    ("  cycles (%s Hz, %s frames)" % (S["clean"]["rate"], S["clean"]["period"]),
     lambda n: S[n]["cycles"]),
    ("  worst callback", lambda n: "%s ms of %s ms" % (S[n]["max_callback_ms"], S[n]["deadline_ms"])),
    ("  faults injected", lambda n: S[n]["injected"]),
    ("audioprof", None),
    ("  blocks allocated", lambda n: str(P[n]["blocks"])),
    ("  bytes allocated", lambda n: mb(P[n]["bytes"])),
    ("  allocation sites", lambda n: str(P[n]["sites"])),
    ("  in the audio callback", lambda n: "%d blocks at %d site%s" % (
        sum(c[0] for c in P[n]["cb"]), len(P[n]["cb"]), "" if len(P[n]["cb"]) == 1 else "s")
        if P[n]["cb"] else "none"),
]
w = 26
print("%-32s %-*s %s" % ("", w, runs[0][1], runs[1][1]))
for label, get in rows:
    if get is None:
        print(label)
    else:
        print("%-32s %-*s %s" % (label, w, get(runs[0][0]), get(runs[1][0])))

status = 0
for n, title in runs:
    print("\nallocations in the audio callback, %s run:" % title)
    if not P[n]["cb"]:
        print("  none")
    for tbk, tb, ebk, chain, _ in P[n]["cb"]:
        print("  %5d blocks %7d bytes  %s" % (tbk, tb, chain))

clean_cb = sum(c[0] for c in P["clean"]["cb"])
injected = int(S["alloc"]["injected"])
found = sum(c[0] for c in P["alloc"]["cb"] if "inject_alloc" in c[4])
print()
if clean_cb == 0:
    print("clean run: the callback allocated nothing in %s cycles." % S["clean"]["cycles"])
else:
    print("clean run: %d allocations in the callback - dsp_demo is not clean!" % clean_cb)
    status = 1
if found == injected:
    print("injected run: all %d allocations dsp_demo injected were found at inject_alloc." % injected)
else:
    print("injected run: %d allocations found at inject_alloc, but dsp_demo injected %d." % (found, injected))
    status = 1
print("profiles: %s and %s (open them in valgrind's dh_view.html)" % (
    os.path.join(out, "clean.json"), os.path.join(out, "alloc.json")))
sys.exit(status)
PY
