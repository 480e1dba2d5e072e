#!/usr/bin/env bash
# t_markers.sh - the audioprof.h API works in every kind of binary: tests/progs/markers.c
# built as a position-independent executable, a fixed-address one compiled -fno-pie and
# linked -no-pie (where the weak references of earlier versions of the header were
# resolved to 0 by the linker, so ACTIVE read 0 and a test asserting "no allocation
# here" checked nothing), as C++ (g++; clang++ -fno-pie -no-pie when there is clang++),
# and as a plug-in that tests/progs/markers_host.c dlopen()s. Nothing is linked for the API (no -ldl: glibc >= 2.34 has dlsym in libc).
# Under the preload each one sees ACTIVE 1 (also through the old direct call), exactly
# 5 allocations / 5 frees / 200 bytes since its snapshot, and its profile has region
# "markers" with 7 cycles, 5 allocations, period 256 frames at 48000 Hz, and zone
# "work" timed 7 times. Without the preload: ACTIVE 0, counts 0, and AUDIOPROF_REQUIRE()
# fails loudly (message on stderr, abort: SIGABRT).
. "$(dirname "$0")/lib/common.sh"
need_preload
make_tmp

HDR=$ROOT/preload
SRC=$PROGS/markers.c
W="-Wall -Wextra -Werror -O2 -g -I$HDR"
variants="pie nopie cxx plugin"
gcc -std=gnu11 $W -Wstrict-prototypes -o "$tmp/pie" "$SRC" || fail "cannot build the PIE"
gcc -std=c11 -pedantic $W -Wstrict-prototypes -fno-pie -no-pie -o "$tmp/nopie" "$SRC" || fail "cannot build -no-pie"
g++ -std=gnu++17 $W -x c++ -o "$tmp/cxx" "$SRC" || fail "cannot build as C++"
if command -v clang++ >/dev/null; then
	clang++ -std=c++11 $W -x c++ -fno-pie -no-pie -o "$tmp/clangxx" "$SRC" || fail "cannot build with clang++"
	variants="$variants clangxx"
fi
gcc -std=gnu11 $W -fPIC -shared -DMARKERS_PLUGIN -o "$tmp/libmarkers.so" "$SRC" || fail "cannot build the plug-in"
gcc -std=gnu11 $W -o "$tmp/host" "$PROGS/markers_host.c" || fail "cannot build the host"
file "$tmp/nopie" | grep -q "LSB executable" || fail "nopie is not a fixed-address executable: $(file "$tmp/nopie")"

cmd() {   # the command line of variant $1
	case $1 in
	plugin) echo "$tmp/host $tmp/libmarkers.so" ;;
	*) echo "$tmp/$1" ;;
	esac
}

for v in $variants; do
	# Under the preload, with AUDIOPROF_REQUIRE() on: it passes, the counts are exact.
	mkdir "$tmp/$v.d"
	env AUDIOPROF_OUT="$tmp/$v.d/p.json" LD_PRELOAD="$PRELOAD" $(cmd "$v") require >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/err"; fail "$v under the preload: exit $rc"; }
	[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "$v under the preload: stderr not empty"; }
	[ "$(cat "$tmp/out")" = "active 1 direct 1 allocs_since 5 frees_since 5 bytes_since 200" ] ||
		fail "$v under the preload printed: $(cat "$tmp/out")"
	check_py "$tmp/$v.d/p.json" "$v" <<'PY' || exit 1
p = load_checked(sys.argv[1])
v = sys.argv[2]
regs = [c for c in p["audioprof"]["callbacks"] if c["api"] == "region" and c["name"] == "markers"]
eq(v + ": region sources", len(regs), 1)
r = regs[0]
eq(v + ": region cycles", r["count"], 7)
eq(v + ": region allocs", r["allocs"], 5)
eq(v + ": region alloc_bytes", r["alloc_bytes"], 200)
eq(v + ": period frames", r["frames"], 256)
eq(v + ": period rate", r["rate"], 48000)
eq(v + ": zones", [(z["name"], z["count"]) for z in r.get("zones", [])], [("work", 7)])
viol = sum(x["count"] for x in p["audioprof"]["violations"] if x["kind"] == "alloc")
eq(v + ": alloc violations", viol, 5)
done()
PY
	# Natively: everything reads zero, and the REQUIRE form fails loudly.
	out=$($(cmd "$v") 2>"$tmp/err")
	rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/err"; fail "$v natively: exit $rc"; }
	[ "$out" = "active 0 direct 0 allocs_since 0 frees_since 0 bytes_since 0" ] ||
		fail "$v natively printed: $out"
	{ $(cmd "$v") require >"$tmp/out" 2>"$tmp/err"; } 2>/dev/null   # (the shell's "Aborted")
	rc=$?
	[ $rc -eq 134 ] || { cat "$tmp/err"; fail "$v natively with AUDIOPROF_REQUIRE(): exit $rc, expected 134 (SIGABRT)"; }
	grep -q "markers.c:[0-9]*: AUDIOPROF_REQUIRE(): this program is not running under audioprof" "$tmp/err" ||
		{ cat "$tmp/err"; fail "$v natively: no AUDIOPROF_REQUIRE() message"; }
	[ -s "$tmp/out" ] && fail "$v natively with AUDIOPROF_REQUIRE(): the test went on running"
	note "$v: under the preload 5 allocs, region 7 cycles, zone work; natively 0, REQUIRE aborts"
done
echo "ok"
