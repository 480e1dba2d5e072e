#!/usr/bin/env bash
# t_lazy_dw.sh - libdw and libelf are loaded only when a frame is not in the persistent
# symbol cache: libaudioprof.so does not need them (DT_NEEDED); a cold-cache run loads
# them and resolves file:line frames, none of them allocations of libdw's or of the
# loader's; a warm-cache run gives the very same frames and never maps libdw or libelf
# (the program reads its own /proc/self/maps once a snapshot has symbolized every
# site on the profiler's thread; the loader's log, LD_DEBUG=files, shows what the
# main thread loads up to the profile written at exit: neither them nor their
# compression libraries); and where libdw cannot be loaded (hidden in a mount
# namespace) the program runs and is profiled as usual, with one warning and frames
# that name their module, while frames already cached keep file and line.
# A program that calls exit from inside real-time code (rtexit: an audio callback that
# exits), a few milliseconds after start with a cold cache, gets the profile written at
# exit on that real-time thread with file:line frames: that write loads libdw when no
# other thread has yet. Five runs, each with a cache of its own: whether the
# symbolizer thread loaded it first is a race, which it mostly loses.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog mapscheck rtexit
make_tmp

# ------------------------------------------------------------------ not needed at load
needed=$(readelf -d "$PRELOAD" | awk '/NEEDED/ { print $NF }' | tr -d '[]' | tr '\n' ' ')
note "DT_NEEDED: $needed"
case " $needed " in
*" libdw.so"* | *" libelf.so"*) fail "libaudioprof.so still needs libdw or libelf: $needed" ;;
esac

# run NAME [ENV...]: mapscheck under the preload with the cache in $tmp/cache, a
# snapshot every 50 ms and at exit the profile in $tmp/NAME/p.json, the libraries of
# elfutils mapped after the first snapshot in $tmp/NAME/out, the loader's log of the
# files it loads in $tmp/NAME/ld.*.
run() {
	local d=$tmp/$1
	shift
	mkdir -p "$d"
	env -u XDG_CACHE_HOME AUDIOPROF_SYMCACHE="$tmp/cache" AUDIOPROF_OUT="$d/p.json" \
		AUDIOPROF_INTERVAL=50ms LD_DEBUG=files LD_DEBUG_OUTPUT="$d/ld" "$@" \
		LD_PRELOAD="$PRELOAD" "$BIN/mapscheck" "$d/p.json" \
		>"$d/out" 2>"$d/err" || { cat "$d/err"; fail "$(basename "$d"): mapscheck failed"; }
}
# loaded NAME: the libraries the loader loaded in that run, one a line
loaded() {
	cat "$tmp/$1"/ld.* 2>/dev/null | sed -n 's/.*file=\([^ ]*\).*/\1/p' | sort -u
}
frames_py='
import json, re, sys
p = json.load(open(sys.argv[1]))
print("\n".join(sorted(re.sub(r"^0x[0-9A-F]+: ", "", f) for f in p["ftbl"])))
'

# ------------------------------------------------------------------ cold cache
run cold
grep -qx libdw "$tmp/cold/out" || { cat "$tmp/cold/out"; fail "cold run: libdw not mapped after a snapshot"; }
python3 -c "$frames_py" "$tmp/cold/p.json" >"$tmp/cold.frames"
for f in 'site_one (mapscheck.c:16)' 'site_three (mapscheck.c:18)' 'main (mapscheck.c:25)'; do
	grep -qxF "$f" "$tmp/cold.frames" || { cat "$tmp/cold.frames"; fail "cold run: no frame '$f'"; }
done
check_py "$tmp/cold/p.json" <<'PY' || exit 1
p = load_checked(sys.argv[1])
for pp in p["pps"]:
    for fr in frames(p, pp)[1:]:
        ok(not any(w in fr for w in ("libaudioprof", "libdw", "libelf", "dlopen", "_dl_")),
           "an allocation of the profiler's (loading libdw) recorded: %s" % describe(p, pp, 8))
s = p["audioprof"]["symbols"]
ok(s["cached"] == 0 and s["dwarf"] > 0, "cold run: symbols %r" % s)
done()
PY
[ -s "$tmp/cold/err" ] && { cat "$tmp/cold/err"; fail "cold run: the preload wrote to stderr"; }

# ------------------------------------------------------------------ warm cache
run warm
[ "$(cat "$tmp/warm/out")" = none ] || { cat "$tmp/warm/out"; fail "warm run: mapped after a snapshot"; }
loaded warm >"$tmp/warm.libs"
note "warm run loaded: $(tr '\n' ' ' <"$tmp/warm.libs")"
grep -qxF "$(basename "$PRELOAD")" "$tmp/warm.libs" || grep -q 'libaudioprof' "$tmp/warm.libs" ||
	fail "warm run: the loader's log does not show the preload (LD_DEBUG not honoured?)"
for l in libdw.so.1 libelf.so.1 libz.so.1 libbz2.so.1.0; do
	grep -qxF "$l" "$tmp/warm.libs" && fail "warm run: $l was loaded"
done
python3 -c "$frames_py" "$tmp/warm/p.json" >"$tmp/warm.frames"
diff "$tmp/cold.frames" "$tmp/warm.frames" >/dev/null ||
	{ diff "$tmp/cold.frames" "$tmp/warm.frames" | head; fail "warm run: frames differ from the cold run"; }
python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))["audioprof"]["symbols"]
sys.exit(0 if s["dwarf"] == 0 and s["symtab"] == 0 and s["cached"] > 0 else 1)' "$tmp/warm/p.json" ||
	fail "warm run: not every frame came from the cache"

# ------------------------------------------------------------------ exit from real-time code
for i in 1 2 3 4 5; do
	d=$tmp/rtexit$i
	mkdir -p "$d"
	env -u XDG_CACHE_HOME AUDIOPROF_SYMCACHE="$d/cache" AUDIOPROF_OUT="$d/p.json" \
		LD_PRELOAD="$PRELOAD" "$BIN/rtexit" >"$d/out" 2>"$d/err" ||
		{ cat "$d/err"; fail "rtexit run $i: exit status $?"; }
	[ -s "$d/err" ] && { cat "$d/err"; fail "rtexit run $i: a message"; }
	python3 -c "$frames_py" "$d/p.json" >"$d/frames"
	for f in 'rtexit_site (rtexit.c:13)' 'main (rtexit.c:18)'; do
		grep -qxF "$f" "$d/frames" ||
			{ head -5 "$d/frames"; fail "rtexit run $i: no frame '$f' (exit from real-time code, libdw not loaded)"; }
	done
done
note "exit from real-time code: file:line frames in 5 cold-cache runs"

# ------------------------------------------------------------------ libdw unavailable
libdw=$(ldconfig -p | awk '$1 == "libdw.so.1" { print $NF; exit }')
[ -n "$libdw" ] && libdw=$(readlink -f "$libdw")
[ -n "$libdw" ] && [ -f "$libdw" ] || skip "libdw.so.1 not found by ldconfig -p"
# hidden CMD...: CMD in a mount namespace where libdw's file is empty (/dev/null)
hidden() {
	unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$libdw" "$@"
}
hidden true 2>/dev/null || skip "no mount namespace here (unshare -m as root); the rest passed"
hidden python3 -c 'import ctypes; ctypes.CDLL("libdw.so.1")' 2>/dev/null &&
	fail "libdw.so.1 still loads in the namespace"

mv "$tmp/cache" "$tmp/cache.warm"
mkdir -p "$tmp/nodw"
hidden env -u XDG_CACHE_HOME AUDIOPROF_SYMCACHE="$tmp/cache" AUDIOPROF_OUT="$tmp/nodw/p.json" AUDIOPROF_INTERVAL=50ms \
	LD_PRELOAD="$PRELOAD" "$BIN/mapscheck" "$tmp/nodw/p.json" >"$tmp/nodw/out" 2>"$tmp/nodw/err" ||
	{ cat "$tmp/nodw/err"; fail "without libdw: mapscheck failed"; }
[ "$(cat "$tmp/nodw/out")" = none ] || { cat "$tmp/nodw/out"; fail "without libdw: libdw or libelf mapped"; }
n=$(grep -c '^audioprof: cannot load libdw.so.1' "$tmp/nodw/err")
[ "$n" = 1 ] && [ "$(wc -l <"$tmp/nodw/err")" = 1 ] ||
	{ cat "$tmp/nodw/err"; fail "without libdw: expected one warning, got this"; }
check_py "$tmp/nodw/p.json" "$BIN/mapscheck" <<'PY' || exit 1
p = load_checked(sys.argv[1])
prog = sys.argv[2]
ok(len(p["pps"]) > 0, "without libdw: no sites")
named = [f for f in p["ftbl"][1:] if f.endswith(": ??? (in %s)" % prog)]
ok(len(named) > 0, "without libdw: no frame names the program: %r" % p["ftbl"][:6])
ok(not any(".c:" in f for f in p["ftbl"]), "without libdw: a file:line frame %r" % p["ftbl"])
ok(p["audioprof"]["symbols"]["dwarf"] == 0, "without libdw: DWARF frames")
done()
PY

# The cache filled by the runs above answers without libdw, silently.
mkdir -p "$tmp/nodw_warm"
hidden env -u XDG_CACHE_HOME AUDIOPROF_SYMCACHE="$tmp/cache.warm" AUDIOPROF_INTERVAL=50ms \
	AUDIOPROF_OUT="$tmp/nodw_warm/p.json" LD_PRELOAD="$PRELOAD" "$BIN/mapscheck" \
	"$tmp/nodw_warm/p.json" >/dev/null 2>"$tmp/nodw_warm/err" ||
	{ cat "$tmp/nodw_warm/err"; fail "without libdw, warm: mapscheck failed"; }
[ -s "$tmp/nodw_warm/err" ] && { cat "$tmp/nodw_warm/err"; fail "without libdw, warm: a message"; }
python3 -c "$frames_py" "$tmp/nodw_warm/p.json" >"$tmp/nodw_warm.frames"
diff "$tmp/cold.frames" "$tmp/nodw_warm.frames" >/dev/null ||
	{ diff "$tmp/cold.frames" "$tmp/nodw_warm.frames" | head; fail "without libdw, warm: frames differ"; }
echo "ok"
