#!/bin/bash
# diffnoise.sh - how often `audioprof diff` calls noise a regression, and how often it
# finds a real one: N clean runs of dsp_demo (null backend) and M runs with a known
# slowdown (`--inject spin:US`), each under the preload, then every ordered pair of clean
# runs (1 run a side), every three clean runs against three others, every pair
# clean/slow, and every three-run combination clean/slow, compared with the defaults
# (significance level 0.05, noise threshold 5 %). Prints each as a count and a rate.
# Rates, not timings: nothing here is a test; `make -C bench diffnoise` runs it, and
# `make bench` too.
#
# usage: diffnoise.sh [--clean N] [--slow M] [--spin US] [--duration S] [--smoke]
#                     [--also AUDIOPROF]
#   --clean N     clean runs (default 10)
#   --slow M      runs with the slowdown (default 6)
#   --spin US     the slowdown: microseconds busy-waited in every cycle (default 40)
#   --duration S  seconds per run (default 2)
#   --smoke       3 clean and 2 slow runs of 0.5 s: every comparison must exit 0 or 1
#                 (exit 1 otherwise); the rates mean nothing at that size
#   --also AP     make every comparison with another build of the audioprof command too
#                 (an older one, say), on the same profiles: the rates side by side
# Environment: BENCH_PRELOAD (path of libaudioprof.so).

set -u
unset LD_PRELOAD
for v in $(compgen -e | grep '^AUDIOPROF_'); do unset "$v"; done

here=$(cd "$(dirname "$0")" && pwd)
top=$here/..
preload=${BENCH_PRELOAD:-$top/preload/libaudioprof.so}
ap=$top/analyzer/audioprof
dsp=$top/dsp_demo/dsp_demo

nclean=10 nslow=6 spin=40 dur=2 smoke=0 also=
usage() {
	sed -n '11,20p' "$0" | sed 's/^# \{0,1\}//'
}
while [ $# -gt 0 ]; do
	case $1 in
	--clean) nclean=${2:?}; shift ;;
	--slow) nslow=${2:?}; shift ;;
	--spin) spin=${2:?}; shift ;;
	--duration) dur=${2:?}; shift ;;
	--smoke) smoke=1 nclean=3 nslow=2 dur=0.5 ;;
	--also) also=${2:?}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "diffnoise.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
for n in "$nclean" "$nslow" "$spin"; do
	case $n in '' | *[!0-9]*) echo "diffnoise.sh: '$n' is not a count" >&2; exit 2 ;; esac
done
for f in "$preload" "$ap" "$dsp"; do
	[ -e "$f" ] || { echo "diffnoise.sh: $f is not built (make all)" >&2; exit 77; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/apnoise.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# Clean and slow runs interleaved, so a change in the machine's load falls on both.
i=0
while [ $i -lt "$nclean" ] || [ $i -lt "$nslow" ]; do
	i=$((i + 1))
	if [ $i -le "$nclean" ]; then
		env LD_PRELOAD="$preload" AUDIOPROF_OUT="$tmp/c$i.json" \
			"$dsp" --backend null --duration "$dur" >/dev/null 2>&1 ||
			{ echo "diffnoise.sh: clean run $i failed" >&2; exit 1; }
	fi
	if [ $i -le "$nslow" ]; then
		env LD_PRELOAD="$preload" AUDIOPROF_OUT="$tmp/s$i.json" \
			"$dsp" --backend null --duration "$dur" --inject "spin:$spin" >/dev/null 2>&1 ||
			{ echo "diffnoise.sh: slow run $i failed" >&2; exit 1; }
	fi
done

bad=0
# compare NAME BASE... -- NEW...: counts a regression (exit 1) in reg_NAME.
declare -A reg tot why
compare() {
	[ -z "$also" ] || AP=$also compare1 "also:$1" "${@:2}"
	AP=$ap compare1 "$@"
}
compare1() {
	local name=$1 rc
	shift
	"$AP" diff --color never --fail-callback-allocs off "$@" >"$tmp/out" 2>&1
	rc=$?
	tot[$name]=$((${tot[$name]:-0} + 1))
	case $rc in
	0) ;;
	1)
		reg[$name]=$((${reg[$name]:-0} + 1))
		# what was called: the callback's or a zone's p50 or p99
		while read -r what; do
			why[$name:$what]=$((${why[$name:$what]:-0} + 1))
		done < <(sed -n 's/^  REGRESSION \(p[0-9]*\) of \(zone\)\{0,1\}.*/\1 \2/p' "$tmp/out" |
			sed 's/ $/ callback/' | sort -u)
		;;
	*) echo "diffnoise.sh: diff $* exited $rc:" >&2; cat "$tmp/out" >&2; bad=1 ;;
	esac
}

for ((a = 1; a <= nclean; a++)); do
	for ((b = 1; b <= nclean; b++)); do
		[ $a -ne $b ] && compare clean1 "$tmp/c$a.json" -- "$tmp/c$b.json"
	done
	for ((b = 1; b <= nslow; b++)); do
		compare slow1 "$tmp/c$a.json" -- "$tmp/s$b.json"
	done
done

# Three runs a side: every three clean runs against the next three (counting round)
# not among them, and every three clean runs of the first six against every three
# slow runs of the first four.
triples() { # N: every 3-subset of 1..N, one per line
	local n=$1 x y z
	for ((x = 1; x <= n; x++)); do for ((y = x + 1; y <= n; y++)); do
		for ((z = y + 1; z <= n; z++)); do echo "$x $y $z"; done
	done; done
}
if [ "$nclean" -ge 6 ]; then
	while read -r x y z; do
		# the other side: the next three runs after z, counting round, not in the base
		rest=()
		for ((k = z % nclean + 1; ${#rest[@]} < 3; k = k % nclean + 1)); do
			[ $k -ne "$x" ] && [ $k -ne "$y" ] && [ $k -ne "$z" ] && rest+=("$tmp/c$k.json")
		done
		compare clean3 "$tmp/c$x.json" "$tmp/c$y.json" "$tmp/c$z.json" -- "${rest[@]}"
	done < <(triples "$nclean")
fi
ns=$((nslow < 4 ? nslow : 4))
if [ "$nclean" -ge 3 ] && [ "$ns" -ge 3 ]; then
	nc=$((nclean < 6 ? nclean : 6))
	while read -r x y z; do
		while read -r p q r; do
			compare slow3 "$tmp/c$x.json" "$tmp/c$y.json" "$tmp/c$z.json" -- \
				"$tmp/s$p.json" "$tmp/s$q.json" "$tmp/s$r.json"
		done < <(triples "$ns")
	done < <(triples "$nc")
fi

line() { # NAME WHAT
	[ -z "$also" ] || [ "${1#also:}" != "$1" ] || line "also:$1" "$2 (--also)"
	local n=${tot[$1]:-0} r=${reg[$1]:-0}
	[ "$n" -gt 0 ] || return 0
	printf '  %-52s %5d of %-5d (%s %%)\n' "$2" "$r" "$n" "$(awk -v r="$r" -v n="$n" \
		'BEGIN { printf "%.1f", 100 * r / n }')"
	local w parts=""
	for w in "p50 callback" "p99 callback" "p50 zone" "p99 zone"; do
		[ -n "${why[$1:$w]:-}" ] && parts="$parts, ${w#* } ${w% *} in ${why[$1:$w]}"
	done
	[ -z "$parts" ] || echo "      (of which: ${parts#, })"
}
echo "audioprof diff at the defaults: dsp_demo --backend null --duration $dur," \
	"$nclean clean runs and $nslow with --inject spin:$spin, interleaved"
echo "  comparison                                           called a regression"
line clean1 "clean vs clean, 1 run a side (false positives)"
line clean3 "clean vs clean, 3 runs a side (false positives)"
line slow1 "clean vs spin:$spin, 1 run a side (detections)"
line slow3 "clean vs spin:$spin, 3 runs a side (detections)"
exit $bad
