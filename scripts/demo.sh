#!/usr/bin/env bash
# demo.sh - what `make demo` runs after building: profiles a small bundled program with
# `audioprof run` and prints a short summary of the profile.
#
# TODO(dsp_demo issue): the workload is dsp_demo/dsp_demo once it exists; until then a
# purpose-built test program from tests/progs stands in. TODO(report issue): the summary
# becomes `audioprof report` once that subcommand exists.
set -euo pipefail
cd "$(dirname "$0")/.."

out=build/demo
mkdir -p "$out"
rm -f "$out"/audioprof.*.json

if [ -x dsp_demo/dsp_demo ]; then
	workload=(dsp_demo/dsp_demo)
else
	workload=()
	# A stand-in: the first of these test programs that was built, else any.
	for p in exact threads allocfns; do
		if [ -x "tests/progs/bin/$p" ]; then workload=("tests/progs/bin/$p"); break; fi
	done
	if [ ${#workload[@]} -eq 0 ]; then
		for p in tests/progs/bin/*; do
			if [ -f "$p" ] && [ -x "$p" ] && [[ $p != *.so ]]; then workload=("$p"); break; fi
		done
	fi
	if [ ${#workload[@]} -eq 0 ]; then
		echo "demo: no workload: neither dsp_demo/dsp_demo nor tests/progs/bin/* exists" >&2
		exit 1
	fi
	echo "demo: dsp_demo is not there yet; profiling the test program ${workload[0]}"
fi

echo "demo: analyzer/audioprof run -o $out/audioprof.%p.json -- ${workload[*]}"
analyzer/audioprof run -o "$out/audioprof.%p.json" -- "${workload[@]}" \
	>"$out/stdout.txt" 2>"$out/stderr.txt"
cat "$out/stderr.txt" >&2

# The first "profile written to" line is the workload's own process.
profile=$(sed -n 's/^audioprof: profile written to \(.*\.json\)$/\1/p' "$out/stderr.txt" | head -n 1)
if [ -z "$profile" ]; then
	echo "demo: no profile was written" >&2
	exit 1
fi
python3 - "$profile" <<'EOF'
import json, sys
path = sys.argv[1]
with open(path) as f:
    p = json.load(f)
ap = p.get("audioprof", {})
t = ap.get("totals", {})
ftbl = p["ftbl"]
print(f"\nprofile {path}: {p['cmd']}  (pid {p['pid']}, {p['te'] / 1e6:.1f} ms)")
print(f"  {t.get('total_b', 0)} bytes in {t.get('total_k', 0)} blocks allocated, "
      f"peak {t.get('max_b', 0)} bytes in {t.get('max_k', 0)} blocks, "
      f"{t.get('curr_b', 0)} bytes in {t.get('curr_k', 0)} blocks live at the end")
print(f"  {len(p['pps'])} allocation sites; the largest by bytes allocated:")
for pp in sorted(p["pps"], key=lambda pp: -pp["tb"])[:5]:
    frames = [ftbl[i] for i in pp["fs"]]
    # the first frame that is not the allocator itself
    where = next((f for f in frames if not any(a in f for a in
                  ("malloc", "calloc", "realloc", "operator new", "memalign", "valloc"))), frames[0])
    print(f"    {pp['tb']:>10} B {pp['tbk']:>7} blocks  peak {pp['mb']:>8} B  {where}")
print("  open it in valgrind's dh_view.html, or read man/audioprof-json.5")
EOF
