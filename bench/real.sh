#!/bin/bash
# real.sh - time real programs natively, under audioprof and under heaptrack, and print
# each as a ratio to the native time measured in this same run (`make bench` runs it
# after allocbench's table). allocbench is the worst case, every operation an
# allocation; these are what profiling ordinary programs costs:
#   cc1      gcc's compiler proper, -O2 on analyzer/profile_read.c preprocessed (run
#            directly: heaptrack does not follow exec, audioprof does; one process
#            keeps the rows comparable)
#   python3  the interpreter itself (not a wrapper script): build, dump and scan a 2.4 MB
#            JSON document (allocation-heavy)
#   sox      reverb, high-pass and resampling of a 10 s stereo tone
#   dsp_demo 20 s of audio through its real-time callback, freewheeling (no allocation
#            in the callback; its callbacks are timed)
#   fluidsynth  a multi-threaded audio program: renders 15 s of a MIDI file this script
#            writes (6 instruments, 18-note chords) to a WAV file as fast as it can, with
#            Debian's smallest General MIDI soundfont and a second rendering thread
#            (synth.cpu-cores=2); no audio server
#   cc1plus  g++'s compiler proper, deep C++ stacks: -O2 on a template-heavy source this
#            script writes (std::map, std::function, std::regex, std::variant, recursive
#            templates), preprocessed and run directly as cc1 is
# audioprof runs twice per repetition: with an empty persistent symbol cache (every
# frame resolved from debug information, as the first time a program is profiled)
# and with the cache the first run filled (as every later time). Both use a private
# cache directory, never the user's.
# Each runs with the same arguments under every tool; its stdout and exit status must
# be the same as natively (else the row says so and the script exits 1). heaptrack -r
# must also have made its data file.
#
# usage: real.sh [--reps N] [--tools LIST] [--programs LIST] [--small]
#   --reps N       best of N runs (default 3; env BENCH_REPS)
#   --programs LIST  only these programs, comma-separated, of cc1, python3, sox,
#                  dsp_demo, fluidsynth, cc1plus (default all that are installed)
#   --small        fluidsynth renders 1 s and cc1plus compiles no std::regex (for the
#                  smoke test: the behaviour is checked, the times mean little)
#   --tools LIST   only these tools, comma-separated, of ap_cold, ap_warm, ht_record,
#                  ht_preload (default all that are installed); native always runs
# Environment: BENCH_PRELOAD (path of libaudioprof.so).
set -u
unset LD_PRELOAD
for v in $(compgen -e | grep '^AUDIOPROF_'); do unset "$v"; done

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
preload=${BENCH_PRELOAD:-$root/preload/libaudioprof.so}
reps=${BENCH_REPS:-3}
only=
programs=
small=
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=${2:?}; shift ;;
	--tools) only=,${2:?},; shift ;;
	--programs) programs=,${2:?},; shift ;;
	--small) small=1 ;;
	-h|--help) sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: real.sh [--reps N] [--tools LIST] [--programs LIST] [--small]" >&2; exit 2 ;;
	esac
	shift
done
case $reps in ''|*[!0-9]*|0) echo "real.sh: --reps needs a positive number" >&2; exit 2 ;; esac
[ -f "$preload" ] || { echo "real.sh: $preload is not built" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/apreal.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

ht_lib=
if command -v heaptrack >/dev/null 2>&1; then
	ht_lib=$(dirname "$(readlink -f "$(command -v heaptrack)")")/../lib/heaptrack/libheaptrack_preload.so
	[ -f "$ht_lib" ] || ht_lib=
fi
tools="native ap_cold ap_warm"
command -v heaptrack >/dev/null 2>&1 && tools="$tools ht_record"
[ -n "$ht_lib" ] && tools="$tools ht_preload"
if [ -n "$only" ]; then
	for t in ${only//,/ }; do
		case $t in native|ap_cold|ap_warm|ht_record|ht_preload) ;;
		*) echo "real.sh: --tools: unknown tool '$t'" >&2; exit 2 ;; esac
	done
	kept=native
	for t in $tools; do [[ $only == *",$t,"* ]] && kept="$kept $t"; done
	tools=$kept
fi

# heaptrack -r prints messages of its own on stdout, around the program's, and what they
# say depends on its version and on what it found (zstd or gzip, heaptrack_gui). So no
# message is parsed: every run writes to the same -o name, a run of `true` first shows
# what heaptrack prints for that name, and under heaptrack a program's stdout must be
# those messages with its native stdout inserted at a line boundary. What heaptrack made
# is the one non-empty file named after -o, whatever the suffix it chose.
ht_out=$tmp/ht/data
ht_made() {   # prints the data file heaptrack made for -o $ht_out; 1 if none
	local f
	for f in "$ht_out".*; do
		[ -s "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}
ht_broken=
if [[ " $tools " == *" ht_record "* ]]; then
	mkdir -p "$tmp/ht"
	if ! heaptrack -r -o "$ht_out" "$(type -P true)" >"$tmp/ht_msgs" 2>"$tmp/ht_msgs.err" </dev/null; then
		ht_broken="heaptrack -r true failed"
	elif ! ht_made >/dev/null; then
		ht_broken="heaptrack -r made no data file"
	fi
	[ -n "$ht_broken" ] && { cat "$tmp/ht_msgs" "$tmp/ht_msgs.err" >&2; echo "real.sh: $ht_broken" >&2; }
	rm -f "$ht_out".*
fi

# ------------------------------------------------------------------ workloads

pyscript='
import collections, hashlib, json
d = [{"k%d" % i: list(range(i % 50)), "s": "x" * (i % 300)} for i in range(20000)]
s = json.dumps(d, sort_keys=True)
c = collections.Counter(len(x) for x in s.split(","))
print(len(s), hashlib.sha256(s.encode()).hexdigest(), sorted(c.items())[:5])
'
workloads=""
cc1=$(gcc -print-prog-name=cc1 2>/dev/null)
# cc1 compiles the preprocessed source: no include paths to pass
if [ -x "$cc1" ] && gcc -E -D_GNU_SOURCE -I"$root/analyzer" -I"$root/preload" -I"$root/common" \
	"$root/analyzer/profile_read.c" -o "$tmp/profile_read.i" 2>/dev/null; then
	workloads="$workloads cc1"
fi
python=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null)
[ -x "$python" ] && workloads="$workloads python3"
if command -v sox >/dev/null 2>&1 &&
   sox -R -n -r 48000 -b 16 -c 2 "$tmp/tone.wav" synth 10 sine 440 sine 660 gain -3 2>/dev/null; then
	workloads="$workloads sox"
fi
[ -x "$root/dsp_demo/dsp_demo" ] && workloads="$workloads dsp_demo"

# fluidsynth: a format-0 MIDI file, 120 bpm, six instruments on six channels, each
# playing a 3-note chord every eighth note (18 voices at a time, each with its release).
sf2=/usr/share/sounds/sf2/TimGM6mb.sf2
if command -v fluidsynth >/dev/null 2>&1 && [ -f "$sf2" ] &&
   python3 - "$tmp/song.mid" "$([ -n "$small" ] && echo 1 || echo 15)" <<'PY' 2>/dev/null; then
import struct, sys
def vlq(n):
    b = [n & 0x7f]; n >>= 7
    while n:
        b.insert(0, (n & 0x7f) | 0x80); n >>= 7
    return bytes(b)
programs = (0, 48, 33, 40, 73, 19)   # piano, strings, bass, violin, flute, organ
ev = vlq(0) + b"\xff\x51\x03" + (500000).to_bytes(3, "big")
for ch, p in enumerate(programs):
    ev += vlq(0) + bytes([0xc0 | ch, p])
for step in range(int(sys.argv[2]) * 4):
    notes = [(ch, 48 + (step * 5) % 12 + k + 12 * (ch % 3))
             for ch in range(len(programs)) for k in (0, 4, 7)]
    for ch, n in notes:
        ev += vlq(0) + bytes([0x90 | ch, n, 90])
    for i, (ch, n) in enumerate(notes):
        ev += vlq(240 if i == 0 else 0) + bytes([0x80 | ch, n, 0])
ev += vlq(0) + b"\xff\x2f\x00"
open(sys.argv[1], "wb").write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) +
                              b"MTrk" + struct.pack(">I", len(ev)) + ev)
PY
	workloads="$workloads fluidsynth"
fi

# cc1plus: template instantiation nests deeply (Tree<N> instantiates Tree<N-1> and
# Tree<N-2>, each a std::map of std::function), and std::regex brings its own deep
# templates; a function per instance so that -O2 has work after the front end too.
# --small leaves out std::regex and its friends (most of the time goes into those).
cc1plus=$(g++ -print-prog-name=cc1plus 2>/dev/null)
cat >"$tmp/tpl.cc" <<'CXX'
#include <functional>
#include <map>
#include <utility>
#ifndef SMALL
#include <regex>
#include <string>
#include <variant>
#include <vector>
#endif

template <int N> struct Fib { static constexpr long v = Fib<N - 1>::v + Fib<N - 2>::v; };
template <> struct Fib<1> { static constexpr long v = 1; };
template <> struct Fib<0> { static constexpr long v = 0; };

template <int D, typename T> struct Nest { using type = std::pair<typename Nest<D - 1, T>::type, T>; };
template <typename T> struct Nest<0, T> { using type = T; };

using Table = std::map<int, std::function<long(int)>>;
template <int D> struct Tree {
	static long walk(const Table &m, int x)
	{
		auto it = m.find(x % 7);
		long r = it == m.end() ? 0 : it->second(x);
		return r + Tree<D - 1>::walk(m, x + D) + Tree<D - 2>::walk(m, x * 3 + 1);
	}
};
template <> struct Tree<1> { static long walk(const Table &, int x) { return x; } };
template <> struct Tree<0> { static long walk(const Table &, int x) { return -x; } };

#ifdef SMALL
#define USE(K) \
	long use##K(int x) { return Tree<K % 4 + 4>::walk(Table{{K % 7, [](int y) { return (long)y; }}}, x); }
#else
template <typename... Ts> long visit_all(const std::vector<std::variant<Ts...>> &v)
{
	long s = 0;
	for (const auto &x : v)
		s += std::visit([](const auto &y) { return (long)sizeof(y); }, x);
	return s;
}

#define USE(K) \
	long use##K(const std::string &s) \
	{ \
		std::map<std::string, std::function<long(int)>> m; \
		std::regex re("([a-z]+)_(\\d+)" #K); \
		std::smatch sm; \
		long r = Fib<40 + K % 20>::v; \
		if (std::regex_search(s, sm, re)) \
			r += (long)sm[1].length(); \
		m[s] = [r](int x) { return r + x; }; \
		Table mi{{K % 7, [](int x) { return (long)x * K; }}}; \
		std::vector<std::variant<int, double, std::string, Nest<K % 9 + 2, int>::type>> v(3); \
		return r + m[s](K) + Tree<K % 8 + 10>::walk(mi, K) + visit_all(v); \
	}
#endif
USE(10) USE(11) USE(12) USE(13) USE(14) USE(15) USE(16) USE(17) USE(18) USE(19)
CXX
if [ -x "$cc1plus" ] && g++ -E ${small:+-DSMALL} "$tmp/tpl.cc" -o "$tmp/tpl.ii" 2>/dev/null; then
	workloads="$workloads cc1plus"
fi

if [ -n "$programs" ]; then
	for w in ${programs//,/ }; do
		case $w in cc1|python3|sox|dsp_demo|fluidsynth|cc1plus) ;;
		*) echo "real.sh: --programs: unknown program '$w'" >&2; exit 2 ;; esac
	done
	kept=
	for w in $workloads; do [[ $programs == *",$w,"* ]] && kept="$kept $w"; done
	workloads=$kept
fi

# CMD: the command of workload $1, writing into directory $2.
cmd_of() {
	case $1 in
	cc1) CMD=("$cc1" -quiet -fpreprocessed -O2 "$tmp/profile_read.i" -o "$2/x.s") ;;
	python3) CMD=("$python" -c "$pyscript") ;;
	sox) CMD=(sox -R "$tmp/tone.wav" "$2/fx.wav" reverb 50 highpass 200 rate 44100) ;;
	dsp_demo) CMD=("$root/dsp_demo/dsp_demo" --backend freewheel --duration 20) ;;
	fluidsynth) CMD=(fluidsynth -n -i -q -o synth.cpu-cores=2 -r 48000 -F "$2/song.wav"
			 "$sf2" "$tmp/song.mid") ;;
	cc1plus) CMD=("$cc1plus" -quiet -fpreprocessed -O2 "$tmp/tpl.ii" -o "$2/tpl.s") ;;
	esac
}

# run_one TOOL WORKLOAD DIR: sets rc and wall (ns); output in DIR/out.
run_one() {
	local tool=$1 w=$2 dir=$3 start end
	mkdir -p "$dir"
	cmd_of "$w" "$dir"
	start=$(date +%s%N)
	case $tool in
	native) "${CMD[@]}" ;;
	ap_cold) rm -rf "$tmp/symcache.$w"
		 env LD_PRELOAD="$preload" AUDIOPROF_OUT="$dir/ap.%p.json" \
			AUDIOPROF_SYMCACHE="$tmp/symcache.$w" "${CMD[@]}" ;;
	ap_warm) env LD_PRELOAD="$preload" AUDIOPROF_OUT="$dir/ap.%p.json" \
			AUDIOPROF_SYMCACHE="$tmp/symcache.$w" "${CMD[@]}" ;;
	ht_record) rm -f "$ht_out".*
		   heaptrack -r -o "$ht_out" "${CMD[@]}" ;;
	ht_preload) env LD_PRELOAD="$ht_lib" DUMP_HEAPTRACK_OUTPUT=/dev/null "${CMD[@]}" ;;
	esac >"$dir/out" 2>"$dir/err" </dev/null
	rc=$?
	end=$(date +%s%N)
	wall=$((end - start))
}

label() {
	case $1 in
	native) echo "native" ;;
	ap_cold) echo "audioprof, cold cache" ;;
	ap_warm) echo "audioprof, warm cache" ;;
	ht_record) echo "heaptrack -r" ;;
	ht_preload) echo "heaptrack preload only" ;;
	esac
}

# same_out TOOL FILE: FILE, the stdout of workload $w under TOOL, is its native stdout
# (under heaptrack -r: inserted at a line boundary of heaptrack's own messages).
same_out() {
	local native=$tmp/native.$w.out k
	if [ "$1" != ht_record ]; then
		cmp -s "$2" "$native"
		return
	fi
	for k in $(seq 0 "$(wc -l <"$tmp/ht_msgs")"); do
		cmp -s "$2" <(head -n "$k" "$tmp/ht_msgs"; cat "$native"; tail -n +"$((k + 1))" "$tmp/ht_msgs") &&
			return 0
	done
	return 1
}

# ------------------------------------------------------------------ runs

declare -A best bad
failures=0
echo "real programs: best of $reps, whole process wall time"
for rep in $(seq 1 "$reps"); do
	for w in $workloads; do
		for tool in $tools; do
			key=$tool.$w
			[ "$tool" = ht_record ] && [ -n "$ht_broken" ] && bad[$key]=$ht_broken
			[ -n "${bad[$key]:-}" ] && continue
			dir=$tmp/$key.$rep
			run_one $tool $w "$dir"
			if [ "$tool" = native ]; then
				echo $rc >"$tmp/native.$w.rc"
				cp "$dir/out" "$tmp/native.$w.out"
			elif [ $rc != "$(cat "$tmp/native.$w.rc")" ] || ! same_out $tool "$dir/out"; then
				bad[$key]="exit $rc or output differs"
				failures=$((failures + 1))
				continue
			elif [ "$tool" = ht_record ] && ! ht_made >/dev/null; then
				bad[$key]="no data file"
				failures=$((failures + 1))
				continue
			fi
			if [ -z "${best[$key]:-}" ] || [ $wall -lt ${best[$key]} ]; then
				best[$key]=$wall
			fi
		done
	done
done

printf "%-10s" "program"
for tool in $tools; do printf " %22s" "$(label $tool)"; done
echo
for w in $workloads; do
	printf "%-10s" "$w"
	for tool in $tools; do
		key=$tool.$w
		if [ -n "${bad[$key]:-}" ]; then
			printf " %22s" "FAILED: ${bad[$key]}"
		elif [ "$tool" = native ]; then
			printf " %22s" "$(awk -v b="${best[$key]}" 'BEGIN { printf "1.00x %7.3f s", b / 1e9 }')"
		else
			printf " %22s" "$(awk -v b="${best[$key]}" -v n="${best[native.$w]}" \
				'BEGIN { printf "%.2fx %7.3f s", b / n, b / 1e9 }')"
		fi
	done
	echo
done
echo "ratio: best wall time under the tool / best native wall time, measured in this run."
# The goals for a profiler people leave on: with a warm symbol cache, at most 1.3x
# native, and at least 1.25x faster than heaptrack -r (heaptrack's time / ours).
if [[ " $tools " == *" ap_warm "* ]]; then
	echo
	printf "%-10s %22s %26s\n" "goals" "warm <= 1.30x native" "heaptrack -r / warm >= 1.25"
	for w in $workloads; do
		n=${best[native.$w]:-}
		a=${best[ap_warm.$w]:-}
		h=${best[ht_record.$w]:-}
		[ -n "$n" ] && [ -n "$a" ] && [ -z "${bad[ap_warm.$w]:-}" ] || continue
		c1=$(awk -v a="$a" -v n="$n" 'BEGIN { r = a / n; printf "%.2fx %s", r, (r <= 1.30 ? "met" : "NOT met") }')
		c2="(no heaptrack -r)"
		[ -n "$h" ] && [ -z "${bad[ht_record.$w]:-}" ] &&
			c2=$(awk -v a="$a" -v h="$h" 'BEGIN { r = h / a; printf "%.2fx %s", r, (r >= 1.25 ? "met" : "NOT met") }')
		printf "%-10s %22s %26s\n" "$w" "$c1" "$c2"
	done
fi
[ -n "$ht_broken" ] && failures=$((failures + 1))
[ $failures = 0 ] || { echo "real.sh: $failures run(s) behaved differently from native"; exit 1; }
exit 0
