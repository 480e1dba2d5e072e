#!/bin/bash
# forkbench.sh - what the profiler costs fork(): bin/forkbench (a parent with 1024 live
# allocation sites forks N times while it allocates; each child allocates, exits with
# exit(), and is reaped before the next fork) natively and under audioprof with
# snapshots on, runs interleaved, every figure a ratio to native measured in this run.
# `make -C bench` (and so `make bench`) calls it.
#
# usage: forkbench.sh [--smoke] [--forks N] [--reps N]
#   --forks N  forks per run (default 300; env FORKBENCH_FORKS)
#   --reps N   runs per configuration, interleaved (default 5; env FORKBENCH_REPS)
#   --smoke    20 forks, one run each; fails (exit 1) unless every run exits 0 with all
#              children reaped, the same result line as native, and audioprof wrote one
#              profile per process (the parent and every child). Exit 77 when the preload
#              is not built. Used by tests/integration/t_fork_bench.sh.
# Environment: BENCH_PRELOAD (path of libaudioprof.so).
#
# Reported per configuration: fork() latency in the parent (call to return), its median
# (median of the runs' medians) and worst (over all runs), and the time from fork() to
# the child reaped (median), which holds what a child's exit, and so its own profile
# write, costs a parent that waits for it. Timings are not tests: `make check` only runs
# --smoke.

set -u
unset LD_PRELOAD
for v in $(compgen -e | grep '^AUDIOPROF_'); do unset "$v"; done

here=$(cd "$(dirname "$0")" && pwd)
prog=$here/bin/forkbench
preload=${BENCH_PRELOAD:-$here/../preload/libaudioprof.so}

smoke=0
forks=${FORKBENCH_FORKS:-}
reps=${FORKBENCH_REPS:-}
usage() {
	sed -n '8,15p' "$0" | sed 's/^# \{0,1\}//'
}
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1 ;;
	--forks) forks=${2:?}; shift ;;
	--reps) reps=${2:?}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
if [ $smoke = 1 ]; then
	forks=${forks:-20}; reps=${reps:-1}
else
	forks=${forks:-300}; reps=${reps:-5}
fi
case "$forks$reps" in *[!0-9]*|'') usage >&2; exit 2 ;; esac
[ "$forks" -ge 1 ] && [ "$reps" -ge 1 ] || { usage >&2; exit 2; }
[ -x "$prog" ] || { echo "forkbench.sh: $prog is not built (make -C bench build)" >&2; exit 1; }
if [ ! -f "$preload" ]; then
	[ $smoke = 1 ] && { echo "forkbench.sh: $preload is not built: skipping" >&2; exit 77; }
	echo "forkbench.sh: $preload is not built" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/forkbench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

configs="native audioprof warm nofollow"
label() {
	case $1 in
	native)   echo "native" ;;
	audioprof) echo "audioprof (snapshots every 100 ms)" ;;
	warm)     echo "audioprof, symbol cache warm" ;;
	nofollow) echo "audioprof, AUDIOPROF_FOLLOW_FORK=0" ;;
	esac
}

# run CONFIG DIR: one run; sets rc. Each audioprof run starts with an empty symbol cache
# of its own (every frame is resolved from debug information, as on a first run), except
# "warm", whose cache a first run filled (as on every later run: no debug information is
# loaded at all).
run() {
	local c=$1 dir=$2
	mkdir -p "$dir"
	case $c in
	native) "$prog" -n "$forks" ;;
	audioprof)
		env LD_PRELOAD="$preload" AUDIOPROF_OUT="$dir/p.%p.json" AUDIOPROF_INTERVAL=100ms \
			AUDIOPROF_SYMCACHE="$dir/symcache" "$prog" -n "$forks" ;;
	warm)
		env LD_PRELOAD="$preload" AUDIOPROF_OUT="$dir/p.%p.json" AUDIOPROF_INTERVAL=100ms \
			AUDIOPROF_SYMCACHE="$tmp/symcache" "$prog" -n "$forks" ;;
	nofollow)
		env LD_PRELOAD="$preload" AUDIOPROF_OUT="$dir/p.%p.json" AUDIOPROF_INTERVAL=100ms \
			AUDIOPROF_FOLLOW_FORK=0 AUDIOPROF_SYMCACHE="$dir/symcache" "$prog" -n "$forks" ;;
	esac >"$dir/out" 2>"$dir/err" </dev/null
	rc=$?
}

failures=0
run warm "$tmp/warmup"   # fills $tmp/symcache
for rep in $(seq 1 "$reps"); do
	for c in $configs; do
		dir=$tmp/$c.$rep
		run $c "$dir"
		if [ $rc != 0 ] || ! grep -q "^forkbench: forks=$forks children_ok=$forks " "$dir/out"; then
			echo "  $(label $c), run $rep: FAILED, exit status $rc; stderr ends:" >&2
			tail -n 5 "$dir/err" | sed 's/^/    /' >&2
			failures=$((failures + 1))
			continue
		fi
		if [ $c != native ] && ! cmp -s <(head -n 1 "$dir/out") <(head -n 1 "$tmp/native.$rep/out"); then
			echo "  $(label $c), run $rep: result differs from native" >&2
			failures=$((failures + 1))
		fi
		want=$((forks + 1))
		[ $c = nofollow ] && want=1
		got=$(ls "$dir" | grep -c '^p\..*\.json$')
		if [ $c != native ] && [ "$got" != $want ]; then
			echo "  $(label $c), run $rep: $got profiles, expected $want" >&2
			failures=$((failures + 1))
		fi
		if [ $smoke = 1 ] && [ $c != native ]; then
			python3 - "$dir" <<'PY' || failures=$((failures + 1))
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/p.*.json"):
    p = json.load(open(f))
    t = p["audioprof"]["totals"]
    if not p["pps"] or sum(pp["tbk"] for pp in p["pps"]) != t["total_k"]:
        sys.exit("forkbench smoke: %s: no pps, or pps do not add up to total_k" % f)
PY
		fi
	done
done

# ------------------------------------------------------------------ the table

# field CONFIG NAME STAT: the runs' values of "NAME_ns ... STAT=V" (one a line)
field() {
	local c=$1 name=$2 stat=$3 f
	for f in "$tmp"/$c.*/out; do
		grep -o "$name median=[0-9]* max=[0-9]*\( p99=[0-9]*\)\{0,1\}" "$f" |
			grep -o "$stat=[0-9]*" | cut -d= -f2
	done
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
worst() { sort -n | tail -n 1; }

echo "forkbench: $forks forks per run, $reps run(s) per configuration, interleaved;" \
     "1024 live sites in the parent, 16 allocations in each child"
printf "%-36s %18s %18s %18s %20s\n" "" "fork() median" "fork() p99" "fork() worst" \
	"fork to reaped"
for c in $configs; do
	fm=$(field $c fork_ns median | median) fp=$(field $c fork_ns p99 | median)
	fw=$(field $c fork_ns max | worst) im=$(field $c iter_ns median | median)
	nfm=$(field native fork_ns median | median) nfp=$(field native fork_ns p99 | median)
	nfw=$(field native fork_ns max | worst) nim=$(field native iter_ns median | median)
	if [ -z "$fm" ] || [ -z "$nfm" ]; then
		printf "%-36s %18s\n" "$(label $c)" "FAILED"
		continue
	fi
	awk -v l="$(label $c)" -v fm=$fm -v fp=$fp -v fw=$fw -v im=$im -v a=$nfm -v p=$nfp \
	    -v b=$nfw -v d=$nim '
		function t(ns) { return ns >= 1e6 ? sprintf("%.1f ms", ns / 1e6) : sprintf("%.0f us", ns / 1e3) }
		function c(x, n) { return sprintf("%7.2fx %9s", x / n, t(x)) }
		BEGIN { printf "%-36s %18s %18s %18s %20s\n", l, c(fm, a), c(fp, p), c(fw, b), c(im, d) }'
done
echo "ratios: to native in this same run (same binary, arguments and machine); median and"
echo "  p99: the median of the runs' values; worst: the slowest fork of all runs. The worst"
echo "  of a few hundred forks follows the machine's load: compare it only within a run."
[ $smoke = 1 ] && echo "smoke mode: one short run each; these ratios mean nothing."
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr)."
if [ $failures != 0 ]; then
	echo "forkbench: FAILED ($failures)"
	exit 1
fi
[ $smoke = 1 ] && echo "forkbench smoke: ok"
exit 0
