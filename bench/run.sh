#!/bin/bash
# run.sh - time bin/allocbench natively and under each heap profiler that is installed
# (audioprof, heaptrack, valgrind DHAT), 1 and 2 threads, and print each as a ratio to the
# native time measured in this same run. `make -C bench` (and so `make bench`) calls it.
#
# usage: run.sh [--smoke] [--ops N] [--reps N] [--cpu] [--tools LIST]
#   --ops N    operations per thread (default 1000000; env BENCH_OPS)
#   --reps N   runs per configuration, the best wall time counts (default 3; env BENCH_REPS)
#   --cpu      compare CPU time (user + system, the process and its children) instead of
#              wall time: steadier on a machine that other work shares
#   --tools L  only these tools (comma-separated: audioprof, ap_warm, heaptrack,
#              ht_record, ht_preload, dhat); native always runs
#   --smoke    tiny op count, one run each; fails (exit 1) unless every configuration exits 0,
#              prints the same result as native, and audioprof's profile holds exactly the
#              allocation calls and bytes allocbench counted itself, site by site.
#              Exit 77 when the preload is not built. Used by tests/integration/t_bench_smoke.sh.
# Environment: BENCH_HANDOFF (allocbench -x), BENCH_PRELOAD (path of libaudioprof.so).
#
# What is timed is the wall time of the whole process, from before exec to after exit, with
# `date +%s%N`: for heaptrack that includes its interpreter and compressor, for valgrind its
# start-up. Timings are not tests: `make check` never runs this without --smoke.

set -u
# Native must be native: no preload or profiler setting inherited from the caller.
unset LD_PRELOAD
for v in $(compgen -e | grep '^AUDIOPROF_'); do unset "$v"; done

here=$(cd "$(dirname "$0")" && pwd)
prog=$here/bin/allocbench
check=$here/check_profile.py
preload=${BENCH_PRELOAD:-$here/../preload/libaudioprof.so}

smoke=0
cpu=0
only=
ops=${BENCH_OPS:-}
reps=${BENCH_REPS:-}
handoff=${BENCH_HANDOFF:-}
ht_vmem_kb=4194304      # heaptrack's interpreter may grow without bound: cap it at 4 GiB
ht_timeout=120          # seconds, for the heaptrack full pipeline

usage() {
	sed -n '6,14p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1 ;;
	--cpu) cpu=1 ;;
	--tools) only=${2:?}; shift ;;
	--ops) ops=${2:?}; shift ;;
	--reps) reps=${2:?}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
if [ $smoke = 1 ]; then
	ops=${ops:-10000}; reps=${reps:-1}; handoff=${handoff:-2}
else
	ops=${ops:-1000000}; reps=${reps:-3}; handoff=${handoff:-16}
fi
case "$ops$reps$handoff" in *[!0-9]*|'') usage >&2; exit 2 ;; esac
[ "$reps" -ge 1 ] || { usage >&2; exit 2; }

if [ ! -x "$prog" ]; then
	echo "run.sh: $prog is not built (make -C bench build)" >&2
	exit 1
fi
if [ $smoke = 1 ] && [ ! -f "$preload" ]; then
	echo "run.sh: $preload is not built: skipping" >&2
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocbench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# ------------------------------------------------------------------ the tools

ht_lib=
if command -v heaptrack >/dev/null 2>&1; then
	ht_bin=$(readlink -f "$(command -v heaptrack)")
	ht_lib=$(dirname "$ht_bin")/../lib/heaptrack/libheaptrack_preload.so
	[ -f "$ht_lib" ] || ht_lib=
fi
have_valgrind=0
command -v valgrind >/dev/null 2>&1 && have_valgrind=1

tools="native audioprof ap_warm heaptrack ht_record ht_preload dhat"
if [ -n "$only" ]; then
	for t in ${only//,/ }; do
		case " $tools " in *" $t "*) ;; *) usage >&2; exit 2 ;; esac
	done
	tools="native ${only//,/ }"
fi
what=wall
[ $cpu = 1 ] && what=cpu

label() {
	case $1 in
	native)     echo "native" ;;
	audioprof)  echo "audioprof (full stacks, default depth)" ;;
	ap_warm)    echo "audioprof, symbol cache warm" ;;
	heaptrack)  echo "heaptrack (full pipeline)" ;;
	ht_record)  echo "heaptrack -r (record + compress, no interpreter)" ;;
	ht_preload) echo "heaptrack preload only (trace to /dev/null)" ;;
	dhat)       echo "valgrind --tool=dhat (1 run)" ;;
	esac
}

# Why a tool cannot run here, or nothing if it can.
unavailable() {
	case $1 in
	audioprof|ap_warm) [ -f "$preload" ] || echo "not built ($preload)" ;;
	heaptrack|ht_record) command -v heaptrack >/dev/null 2>&1 || echo "not installed" ;;
	ht_preload) [ -n "$ht_lib" ] || echo "not installed" ;;
	dhat) [ $have_valgrind = 1 ] || echo "not installed" ;;
	esac
}

# run_one TOOL THREADS DIR: run allocbench once under TOOL; output in DIR/out, DIR/err.
# Sets rc (exit status), wall (ns), and cpu (ns of user + system time, bash's `time`).
run_one() {
	local tool=$1 t=$2 dir=$3 start end u s TIMEFORMAT='%3U %3S'
	local args=(-t "$t" -n "$ops" -x "$handoff" -s)
	mkdir -p "$dir"
	start=$(date +%s%N)
	{ time case $tool in
	native)
		"$prog" "${args[@]}" ;;
	audioprof)   # a private, empty symbol cache: every run resolves from debug info
		LD_PRELOAD=$preload AUDIOPROF_OUT="$dir/audioprof.%p.json" \
			AUDIOPROF_SYMCACHE="$dir/symcache" "$prog" "${args[@]}" ;;
	ap_warm)     # the cache a first, untimed run filled: as every later run (no debug
		     # information loaded: what the allocation path itself costs)
		LD_PRELOAD=$preload AUDIOPROF_OUT="$dir/audioprof.%p.json" \
			AUDIOPROF_SYMCACHE="$tmp/warmcache" "$prog" "${args[@]}" ;;
	heaptrack)
		(ulimit -v $ht_vmem_kb; exec timeout $ht_timeout heaptrack -o "$dir/heaptrack" "$prog" "${args[@]}") ;;
	ht_record)
		heaptrack -r -o "$dir/heaptrack" "$prog" "${args[@]}" ;;
	ht_preload)
		LD_PRELOAD=$ht_lib DUMP_HEAPTRACK_OUTPUT=/dev/null "$prog" "${args[@]}" ;;
	dhat)
		valgrind --tool=dhat --dhat-out-file="$dir/dhat.json" "$prog" "${args[@]}" ;;
	esac >"$dir/out" 2>"$dir/err" </dev/null; } 2>"$dir/time"
	rc=$?
	end=$(date +%s%N)
	wall=$((end - start))
	read -r u s <"$dir/time"
	cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%d", (u + s) * 1e9 }')
}

# The program's own lines (heaptrack's script mixes its messages into stdout).
result_of() {
	grep -E '^(allocbench: |site )' "$1/out"
}

# ------------------------------------------------------------------ the runs

declare -A best fail runs
failures=0
for t in 1 2; do
	for tool in $tools; do
		why=$(unavailable $tool)
		[ -n "$why" ] && fail[$tool.$t]="$why"
	done
done

if [ $smoke = 1 ]; then
	echo "allocbench smoke: $ops operations per thread, handoff 1/$handoff, one run per configuration"
else
	echo "allocbench: $ops operations per thread (one allocation call each), 96 sites," \
	     "recursion 5..20 frames deep, sizes 16..4096; best of $reps"
fi

# ap_warm's cache: an untimed run of each thread count fills it.
if [[ " $tools " == *" ap_warm "* ]] && [ -z "${fail[ap_warm.1]:-}" ]; then
	run_one ap_warm 1 "$tmp/ap_warm.fill1"
	run_one ap_warm 2 "$tmp/ap_warm.fill2"
fi

for rep in $(seq 1 "$reps"); do
	for t in 1 2; do
		for tool in $tools; do
			key=$tool.$t
			[ -n "${fail[$key]:-}" ] && continue
			# DHAT runs once (about 30-60x native); so does a heaptrack that failed.
			[ "$tool" = dhat ] && [ -n "${runs[$key]:-}" ] && continue
			dir=$tmp/$tool.$t.$rep
			run_one $tool $t "$dir"
			if [ $rc != 0 ]; then
				why="exit status $rc"
				grep -q bad_alloc "$dir/err" &&
					why="$why: heaptrack_interpret threw std::bad_alloc (memory capped at $((ht_vmem_kb / 1048576)) GiB)"
				[ $rc = 124 ] && why="timed out after $ht_timeout s"
				fail[$key]=$why
				failures=$((failures + 1))
				echo "  $(label $tool), $t thread(s): FAILED, $why; stderr ends:" >&2
				tail -n 5 "$dir/err" | sed 's/^/    /' >&2
				continue
			fi
			# What heaptrack made: the file named after -o, whatever suffix it chose
			# (.zst with zstd installed, .gz without; .raw.* with -r).
			if [ "$tool" = heaptrack ] || [ "$tool" = ht_record ]; then
				made=
				for f in "$dir"/heaptrack.*; do [ -s "$f" ] && made=$f; done
				if [ -z "$made" ]; then
					fail[$key]="heaptrack made no data file"
					failures=$((failures + 1))
					echo "  $(label $tool), $t thread(s): FAILED, no data file in $dir" >&2
					continue
				fi
			fi
			runs[$key]=$((${runs[$key]:-0} + 1))
			[ $what = cpu ] && wall=$cpu
			if [ -z "${best[$key]:-}" ] || [ $wall -lt ${best[$key]} ]; then
				best[$key]=$wall
			fi
			if [ "$tool" != native ] && ! cmp -s <(result_of "$dir") <(result_of "$tmp/native.$t.$rep"); then
				echo "  $(label $tool), $t thread(s): OUTPUT DIFFERS from native" >&2
				fail[$key]="output differs from native"
				failures=$((failures + 1))
			fi
		done
	done
done

# ------------------------------------------------------------------ the table

# One cell: ratio to native, best wall time, and the extra time per allocation call.
W=30
cell() {
	local key=$1 t=$2 why
	if [ -n "${fail[$key]:-}" ]; then
		why=${fail[$key]}
		case $why in not\ *) ;; *) why="FAILED (below)" ;; esac
		printf "%${W}s" "${why%% (/*}"
	elif [ -z "${best[native.$t]:-}" ]; then
		printf "%${W}s" "no native time"
	else
		awk -v b="${best[$key]}" -v n="${best[native.$t]}" -v calls=$((ops * t)) -v w=$W '
			BEGIN { extra = (b - n) / calls
				printf "%7.2fx %9.3f s %*s", b / n, b / 1e9, w - 21,
				       b == n ? "-" : sprintf("%+.0f ns", extra) }'
	fi
}

echo
printf "%-46s %${W}s %${W}s\n" "" "1 thread        " "2 threads       "
printf "%-46s %${W}s %${W}s\n" "tool" "ratio best $what  +per alloc" "ratio best $what  +per alloc"
for tool in $tools; do
	printf "%-46s %s %s\n" "$(label $tool)" "$(cell $tool.1 1)" "$(cell $tool.2 2)"
done
echo
for t in 1 2; do
	for tool in $tools; do
		case ${fail[$tool.$t]:-not} in
		not\ *|not) ;;
		*) echo "FAILED: $(label $tool), $t thread(s): ${fail[$tool.$t]}" ;;
		esac
	done
done
echo "ratio: best $what time of the whole process under the tool / best native $what time, both"
echo "  measured in this run: same binary, same arguments (-n $ops -x $handoff -s), same machine."
echo "+per alloc: (tool - native) / allocation calls ($ops per thread)."
echo "valgrind DHAT: the same operation count, one run."
[ $smoke = 1 ] && echo "smoke mode: at $ops operations start-up dominates; these ratios mean nothing."
echo "machine: $(nproc) cores, $(uname -sr), $(ldd --version 2>/dev/null | head -n 1 | sed 's/^ldd //')."

# ------------------------------------------------------------------ exactness checks

for t in 1 2; do
	if [ -n "${best[audioprof.$t]:-}" ]; then
		profiles=$(ls "$tmp"/audioprof.$t.1/audioprof.*.json 2>/dev/null)
		if [ "$(echo "$profiles" | grep -c .)" != 1 ]; then
			echo "audioprof, $t thread(s): expected one profile, found: ${profiles:-none}"
			failures=$((failures + 1))
		elif ! python3 "$check" "$profiles" "$tmp/audioprof.$t.1/out" | sed "s|$tmp/||"; then
			failures=$((failures + 1))
		fi
	fi
	if [ $smoke = 1 ] && [ -n "${best[dhat.$t]:-}" ]; then
		# DHAT charges a realloc to the block's first allocation site: totals only.
		python3 "$check" --totals-only "$tmp/dhat.$t.1/dhat.json" "$tmp/dhat.$t.1/out" |
			sed "s|$tmp/||" || failures=$((failures + 1))
	fi
done

if [ $smoke = 1 ]; then
	if [ $failures != 0 ]; then
		echo "allocbench smoke: FAILED ($failures)"
		exit 1
	fi
	echo "allocbench smoke: ok"
fi
exit 0
