#!/bin/bash
# abtest.sh - is one build of libaudioprof.so faster than another on allocbench? Each
# round runs natively, then OLD, NEW and OLD again back to back, and compares NEW with
# the two OLD runs around it: on a shared machine whose load changes from one second to
# the next, runs made back to back differ far less than runs made apart (two copies of
# one library came out up to 8 % apart in the median of 7 to 11 rounds' wall-time
# ratios to native). The second OLD run against the first is a control: its median
# and quartiles show how much of NEW/OLD the machine's noise alone can give in this
# very run (under a load of 3 on 2 cores, a few %; trust no smaller difference).
# Times are CPU time (user + system) of the whole process, as run.sh --cpu measures;
# the symbol cache is a private one filled before the first round, so the exit's
# symbolization (tens of ms with an empty cache: run.sh's setting) is the same small
# cost on both sides. A measurement tool, not a test: nothing runs it but a person.
#
# usage: abtest.sh [--rounds N] [--ops N] [--threads T] OLD.so NEW.so
#   --rounds N   rounds (default 15)
#   --ops N      allocbench operations per thread (default 1000000)
#   --threads T  1 or 2 (default 1)
# Prints the median and quartiles over the rounds of NEW / OLD (the mean of the two OLD
# runs; below 1: NEW is faster), of the control OLD / OLD, and of each build's ratio to
# the native run of its round.
set -u
unset LD_PRELOAD
for v in $(compgen -e | grep '^AUDIOPROF_'); do unset "$v"; done

here=$(cd "$(dirname "$0")" && pwd)
prog=$here/bin/allocbench
rounds=15 ops=1000000 threads=1
usage() { sed -n '/^# usage:/,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) rounds=${2:?}; shift ;;
	--ops) ops=${2:?}; shift ;;
	--threads) threads=${2:?}; shift ;;
	-h|--help) usage; exit 0 ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 2 ] || { usage >&2; exit 2; }
case "$rounds$ops$threads" in *[!0-9]*|'') usage >&2; exit 2 ;; esac
case $threads in 1|2) ;; *) usage >&2; exit 2 ;; esac
[ "$rounds" -ge 1 ] || { usage >&2; exit 2; }
old=$(readlink -f "$1") new=$(readlink -f "$2")
for f in "$old" "$new"; do
	[ -f "$f" ] || { echo "abtest.sh: $f: no such file" >&2; exit 2; }
done
[ -x "$prog" ] || { echo "abtest.sh: $prog is not built (make -C bench build)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/abtest.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
args=(-t "$threads" -n "$ops" -x 16 -s)

# cpu [LIB NAME]: CPU ms of one run, natively or under LIB, with symbol cache NAME: one
# per build, since two builds may write the cache in formats the other ignores.
cpu() {
	local TIMEFORMAT='%3U %3S' t
	if [ $# = 0 ]; then
		t=$( { time "$prog" "${args[@]}" >/dev/null 2>&1; } 2>&1 )
	else
		t=$( { time env LD_PRELOAD="$1" AUDIOPROF_OUT="$tmp/p.%p.json" \
			AUDIOPROF_SYMCACHE="$tmp/symcache.$2" "$prog" "${args[@]}" >/dev/null 2>&1; } 2>&1 )
		rm -f "$tmp"/p.*.json
	fi
	echo "$t" | awk '{ printf "%d", ($1 + $2) * 1000 }'
}

cpu "$old" old >/dev/null   # fills the symbol caches
cpu "$new" new >/dev/null
: >"$tmp/r"
for ((i = 0; i < rounds; i++)); do
	n=$(cpu)
	a=$(cpu "$old" old); b=$(cpu "$new" new); c=$(cpu "$old" old)
	[ "$n" -gt 0 ] && [ "$a" -gt 0 ] && [ "$c" -gt 0 ] ||
		{ echo "abtest.sh: a run took no CPU time" >&2; exit 1; }
	echo "$a $b $c $n" >>"$tmp/r"
done

# quartiles COLUMN-EXPRESSION: median, lower and upper quartile over the rounds.
quartiles() {
	awk "{ print $1 }" "$tmp/r" | sort -g | awk '{ v[NR] = $1 }
		END { printf "median %.3f (quartiles %.3f, %.3f)", v[int((NR + 1) / 2)],
		      v[int((NR + 3) / 4)], v[int((3 * NR + 1) / 4)] }'
}
echo "allocbench, $threads thread(s), $ops operations per thread, $rounds rounds; CPU time"
echo "  new / old:    $(quartiles '2 * $2 / ($1 + $3)')"
echo "  old / old:    $(quartiles '$3 / $1')   (control: the noise)"
echo "  old / native: $(quartiles '($1 + $3) / 2 / $4')"
echo "  new / native: $(quartiles '$2 / $4')"
echo "old: $old"
echo "new: $new"
