#!/usr/bin/env bash
# t_plugin_audio.sh - audio libraries loaded privately by a plugin (the shape of
# csound's rtjack module and ALSA's jack PCM plugin): tests/progs/audio/plughost.c
# dlopens a plugin RTLD_LOCAL, so the audio library the plugin is linked against is
# loaded outside the global scope (the host checks: "private 1") and the plugin calls
# it through its own PLT, which reaches the preload's wrappers first. The wrappers must
# find the real functions in the plugin's own dependencies (preload/entry/audio_dl.c,
# audio_find_real). The plugins are the callback programs of t_jack.sh, t_portaudio.sh
# and t_sdl.sh built as shared objects (-Dmain=plugin_main), with the same exact checks:
#   - JACK (jack_allocs.c) against a private jackd: exact callback count, the 30
#     allocations and 20 frees inside the callback and none outside, the program's own
#     xrun callback still chained;
#   - PortAudio (pa_jack.c) on its JACK host API: one "portaudio" source with exactly
#     the program's callbacks and allocations;
#   - SDL2 (sdl_audio.c, SDL_AUDIODRIVER=dummy): one "sdl" source, exact.
# Each plugin also runs twice in one process (-n 2: loaded, run, dlclosed, loaded
# again; SDL2 is unloaded in between, so the wrappers must look it up again): same
# output as natively, one source per run with the same exact allocations.
# Two copies of libSDL2 (sdl_twocopies.c): the linked one is profiled; a second copy
# loaded from another file and reached through dlsym gets its own functions, unwrapped
# (one warning), and works as natively.
# Skips when jackd or the JACK, PortAudio or SDL2 headers are missing.
. "$(dirname "$0")/lib/common.sh"
. "$ILIB/jackd.sh"
need_preload
make_tmp
command -v jackd >/dev/null 2>&1 || skip "jackd not installed (Debian package jackd2)"
[ -f /usr/include/jack/jack.h ] || skip "JACK headers missing (libjack-jackd2-dev)"
[ -f /usr/include/portaudio.h ] || skip "PortAudio headers missing (portaudio19-dev)"
[ -f /usr/include/SDL2/SDL.h ] || skip "SDL2 headers missing (libsdl2-dev)"
sdl_cflags=$(pkg-config --cflags sdl2 2>/dev/null || echo -I/usr/include/SDL2 -D_REENTRANT)

build_audio_prog plughost plughost.c $PROG_LIBS
plugin="-shared -fPIC -Dmain=plugin_main"
build_audio_prog plug_jack.so jack_allocs.c $plugin -ljack
build_audio_prog plug_pa.so pa_jack.c $plugin -lportaudio
build_audio_prog plug_sdl.so sdl_audio.c $plugin $sdl_cflags -lSDL2
start_jackd 512
export SDL_AUDIODRIVER=dummy

# run_host NAME ARGS...: plughost ARGS natively, then under the preload (profile in
# $tmp/NAME/); both must exit 0 and print the same "private" and "unloaded" lines.
run_host() {
	local name=$1 rc
	shift
	"$tmp/bin/plughost" "$@" >"$tmp/$name.native" 2>"$tmp/$name.native.err" </dev/null
	rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/$name.native" "$tmp/$name.native.err"; fail "$name (native) exited $rc"; }
	grep -qx "private 1" "$tmp/$name.native" ||
		{ cat "$tmp/$name.native"; fail "$name: the audio library is in the global scope; the test proves nothing"; }
	mkdir -p "$tmp/$name"
	env AUDIOPROF_OUT="$tmp/$name/p.%p.json" LD_PRELOAD="$PRELOAD" "$tmp/bin/plughost" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/$name.out" "$tmp/$name.err"; fail "$name exited $rc under the preload (natively 0)"; }
	diff <(grep -E '^(private|unloaded) ' "$tmp/$name.native") <(grep -E '^(private|unloaded) ' "$tmp/$name.out") ||
		fail "$name: output differs from the native run"
	grep -q "no definition found" "$tmp/$name.err" && { cat "$tmp/$name.err"; fail "$name: a wrapper found no real function"; }
	note "$name: $(grep -v '^private' "$tmp/$name.out" | tr '\n' ' ')"
}

# ------------------------------------------------------------------ JACK
run_host jack -p jack_client_open "$tmp/bin/plug_jack.so" apalloc
read -r _ n _ x _ < <(grep '^callbacks' "$tmp/jack.out")
f=$(one_profile "$tmp/jack") || exit 1
check_py "$f" "$n" "$x" <<'PY' || exit 1
from audiochk import *
p = load_audio(sys.argv[1])
n, x = int(sys.argv[2]), int(sys.argv[3])
s = one_source(p, "jack", "apalloc")
expect_source(s, count=n, deadline_ns=10666666, rate=48000, frames=512, allocs=30, frees=20,
              alloc_bytes=3060, xruns=x)
expect_jack_allocs(p, s)
done()
PY

# ------------------------------------------------------------------ PortAudio
"$tmp/bin/plughost" "$tmp/bin/plug_pa.so" >/dev/null 2>&1 </dev/null
[ $? -eq 3 ] && skip "this PortAudio has no JACK host API"
run_host pa -p Pa_Initialize "$tmp/bin/plug_pa.so"
read -r _ n < <(grep '^callbacks' "$tmp/pa.out")
f=$(one_profile "$tmp/pa") || exit 1
check_py "$f" "$n" <<'PY' || exit 1
from audiochk import *
p = load_audio(sys.argv[1])
s = one_source(p, "portaudio")
ok(s.get("name", "").startswith("PortAudio/JACK"), "portaudio source name %r" % s.get("name"))
expect_source(s, count=int(sys.argv[2]))
expect_pa_allocs(p, s)
for j in sources(p, "jack"):   # PortAudio's own JACK client, in the same private libjack
    expect_source(j, allocs=0, frees=0)
eq("jack sources (PortAudio's JACK client)", len(sources(p, "jack")), 1)
done()
PY

# ------------------------------------------------------------------ SDL2
run_host sdl -p SDL_Init "$tmp/bin/plug_sdl.so" device
read -r _ n < <(grep '^callbacks' "$tmp/sdl.out")
f=$(one_profile "$tmp/sdl") || exit 1
check_py "$f" "$n" <<'PY' || exit 1
from audiochk import *
p = load_audio(sys.argv[1])
s = one_source(p, "sdl", "dummy/default")
expect_source(s, count=int(sys.argv[2]), deadline_ns=10666666, rate=48000, frames=512,
              allocs=16, frees=16, alloc_bytes=640)
expect_cb_pp(p, "sdl_alloc", 16, 640)
expect_pp(p, "out_sdl", tbk=3, tb=1665, cbk=0, cbb=0)
done()
PY

# ------------------------------------------------------------------ twice per process
for c in jack:jack_client_open:plug_jack.so:apalloc pa:Pa_Initialize:plug_pa.so: \
	 sdl:SDL_Init:plug_sdl.so:device; do
	IFS=: read -r api sym so arg <<<"$c"
	run_host "$api.twice" -n 2 -p "$sym" "$tmp/bin/$so" $arg
	f=$(one_profile "$tmp/$api.twice") || exit 1
	check_py "$f" "$api" <<'PY' || exit 1
from audiochk import *
p = load_audio(sys.argv[1])
api = sys.argv[2]
want = {"jack": ("jack", "apalloc", 30, 20), "pa": ("portaudio", None, 9, 9),
        "sdl": ("sdl", "dummy/default", 16, 16)}[api]
ss = sources(p, want[0], want[1])
eq("%s: sources after two runs" % api, len(ss), 2)
for s in ss:
    expect_source(s, allocs=want[2], frees=want[3])
    ok(s.get("count", 0) > 0, "%s: a run with no callbacks: %s" % (api, describe_source(s)))
done()
PY
done
grep -qx "unloaded 1" "$tmp/sdl.twice.out" && note "libSDL2 was unloaded and loaded again in between"

# ------------------------------------------------------------------ two copies
# sdl_twocopies: copy A linked, then copy B (another file) by path + dlsym. B's
# functions must reach the program as they are (the wrappers call A); A is profiled.
build_audio_prog sdl_twocopies sdl_twocopies.c $sdl_cflags -lSDL2 $PROG_LIBS
sdl_lib=$(ldd "$tmp/bin/sdl_twocopies" | awk '/libSDL2-2.0.so.0/ { print $3 }')
[ -f "$sdl_lib" ] || fail "libSDL2-2.0.so.0 not found by ldd"
mkdir -p "$tmp/copy" && cp -L "$sdl_lib" "$tmp/copy/libSDL2-2.0.so.0"
"$tmp/bin/sdl_twocopies" "$tmp/copy/libSDL2-2.0.so.0" >"$tmp/copies.native" 2>&1 ||
	{ cat "$tmp/copies.native"; fail "sdl_twocopies (native) failed"; }
mkdir -p "$tmp/copies"
env AUDIOPROF_OUT="$tmp/copies/p.%p.json" SDL_TWOCOPIES_CALLS="$tmp/copies.calls" \
	LD_PRELOAD="$PRELOAD" "$tmp/bin/sdl_twocopies" \
	"$tmp/copy/libSDL2-2.0.so.0" >"$tmp/copies.out" 2>"$tmp/copies.err" </dev/null ||
	{ cat "$tmp/copies.out" "$tmp/copies.err"; fail "sdl_twocopies failed under the preload (natively: exit 0)"; }
cmp -s "$tmp/copies.native" "$tmp/copies.out" ||
	{ diff "$tmp/copies.native" "$tmp/copies.out"; fail "sdl_twocopies: output differs from the native run"; }
grep -qx "b_is_copy 1" "$tmp/copies.out" || fail "sdl_twocopies: no second copy was loaded; the test proves nothing"
n_warn=$(grep -c "second copy" "$tmp/copies.err")
[ "$n_warn" = 1 ] || { cat "$tmp/copies.err"; fail "sdl_twocopies: expected one warning about the second copy, got $n_warn"; }
f=$(one_profile "$tmp/copies") || exit 1
check_py "$f" "$tmp/copies.calls" <<'PY' || exit 1
from audiochk import *
p = load_audio(sys.argv[1])
calls_a = int(open(sys.argv[2]).read().split()[0])   # the program's own count of every call
ok(calls_a >= 20, "sdl_twocopies: %d calls of copy A's callback" % calls_a)
s = one_source(p, "sdl", "dummy/default")
expect_source(s, count=calls_a, allocs=6, frees=6, alloc_bytes=240)
expect_cb_pp(p, "a_alloc", 6, 240)
done()
PY
echo "PASS"
