#!/bin/bash
# ablate.sh - where audioprof's allocation overhead goes. Times allocbench's loop (the
# elapsed time it prints itself, so start-up and the exit write are left out) natively
# and under builds of libaudioprof.so with parts of the per-allocation work taken out,
# each as a ratio to the native run of the same round, and prints the median, lowest
# and highest ratio over the rounds. The builds come from a copy of preload/ with
# ablation.patch applied; only "shipped" is the real library:
#   forward   interposes the malloc family and tracks nothing (every block is foreign)
#   header    + the 32-byte block header on every block
#   stack2    + the stack-cache lookup, frames 0 and 1 only (AUDIOPROF_DEPTH=2)
#   stack     + the whole stack validated (default depth); no clock, no accounting
#   shipped2  the real library at AUDIOPROF_DEPTH=2
#   nolock    the real library, the thread's budget word (sites.c) updated without a
#             locked instruction (right for one thread only, which is what this runs)
#   shipped   the real library
# A measurement tool, not a test: `make bench` does not run it.
#
# usage: ablate.sh [--rounds N] [--ops N]   (defaults 11 rounds, 1000000 operations)
set -u
unset LD_PRELOAD
for v in $(compgen -e | grep '^AUDIOPROF_'); do unset "$v"; done

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
prog=$here/bin/allocbench
rounds=11 ops=1000000
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) rounds=${2:?}; shift ;;
	--ops) ops=${2:?}; shift ;;
	-h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: ablate.sh [--rounds N] [--ops N]" >&2; exit 2 ;;
	esac
	shift
done
case "$rounds$ops" in *[!0-9]*|'') echo "ablate.sh: numbers only" >&2; exit 2 ;; esac
[ -x "$prog" ] || { echo "ablate.sh: $prog is not built (make -C bench build)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ablate.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/preload/entry" "$tmp/preload/engine"
ln -s "$root/common" "$tmp/common"   # shared sources the preload builds from
cp "$root"/preload/*.h "$root/preload/Makefile" "$root/preload/audioprof.map" "$tmp/preload/"
cp "$root"/preload/entry/*.[ch] "$tmp/preload/entry/"
cp "$root"/preload/engine/*.[ch] "$tmp/preload/engine/"
if ! (cd "$tmp" && patch -s -p0 < "$here/ablation.patch"); then
	echo "ablate.sh: ablation.patch no longer applies to preload/: update it" >&2
	exit 1
fi
build() {   # name, defines
	make -s -C "$tmp/preload" clean >/dev/null
	# WERROR= : an experiment build, whatever the caller's make check exported
	make -s -j2 -C "$tmp/preload" libaudioprof.so CFLAGS="-O2 -g $2" WERROR= >/dev/null 2>"$tmp/build.log" ||
		{ cat "$tmp/build.log" >&2; echo "ablate.sh: build $1 failed" >&2; exit 1; }
	cp "$tmp/preload/libaudioprof.so" "$tmp/$1.so"
}
build forward -DABL_FORWARD
build header -DABL_HEADER
build stack -DABL_NOACCOUNT
build nolock -DABL_NOLOCK
cp "$root/preload/libaudioprof.so" "$tmp/shipped.so" 2>/dev/null ||
	{ echo "ablate.sh: preload/libaudioprof.so is not built" >&2; exit 1; }

names=(forward header stack2 stack shipped2 nolock shipped)
lib() { case $1 in stack2) echo stack ;; shipped2) echo shipped ;; *) echo "$1" ;; esac; }
depth() { case $1 in stack2|shipped2) echo 2 ;; *) echo "" ;; esac; }

elapsed() {   # prints allocbench's own elapsed seconds; $1: variant or "native"
	local out
	if [ "$1" = native ]; then
		out=$("$prog" -n "$ops" 2>&1 >/dev/null)
	else
		out=$(cd "$tmp" && env AUDIOPROF_OUT="$tmp/p.json" AUDIOPROF_SYMCACHE=off \
			${2:+AUDIOPROF_DEPTH=$2} LD_PRELOAD="$tmp/$(lib "$1").so" \
			"$prog" -n "$ops" 2>&1 >/dev/null)
	fi
	echo "$out" | sed -n 's/.*elapsed \([0-9.]*\) s.*/\1/p'
}

for ((r = 0; r < rounds; r++)); do
	n=$(elapsed native)
	for v in "${names[@]}"; do
		t=$(elapsed "$v" "$(depth "$v")")
		[ -n "$t" ] && [ -n "$n" ] || { echo "ablate.sh: $v gave no time" >&2; exit 1; }
		echo "$t $n" | awk '{ printf "%.4f\n", $1 / $2 }' >> "$tmp/r.$v"
	done
done
echo "allocbench loop, 1 thread, $ops operations; ratio to native in the same round"
echo "over $rounds rounds:"
printf '  %-9s %7s %7s %7s\n' variant median lowest highest
for v in "${names[@]}"; do
	sort -n "$tmp/r.$v" | awk -v v="$v" '{ a[NR] = $1 }
		END { printf "  %-9s %6.2fx %6.2fx %6.2fx\n", v, a[int((NR + 1) / 2)], a[1], a[NR] }'
done
