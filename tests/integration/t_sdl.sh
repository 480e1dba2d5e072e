#!/usr/bin/env bash
# t_sdl.sh - an SDL2 program (tests/progs/audio/sdl_audio.c) with SDL_AUDIODRIVER=dummy,
# under the preload: SDL_OpenAudioDevice and SDL_OpenAudio (legacy), each with SDL2
# linked and again with libSDL2 loaded by dlopen + dlsym. The program checks that the
# obtained spec shows its own callback and userdata; the profile has one "sdl" source
# counting exactly the callbacks the program counted, with the exact allocations made
# in them and none of those outside. Skips when the SDL2 headers are missing.
. "$(dirname "$0")/lib/common.sh"
. "$ILIB/jackd.sh"   # build_audio_prog
need_preload
make_tmp
[ -f /usr/include/SDL2/SDL.h ] || skip "SDL2 headers missing (libsdl2-dev)"
sdl_cflags=$(pkg-config --cflags sdl2 2>/dev/null || echo -I/usr/include/SDL2 -D_REENTRANT)
build_audio_prog sdl_audio sdl_audio.c $sdl_cflags -lSDL2
build_audio_prog sdl_audio_dl sdl_audio.c -DUSE_DLOPEN $sdl_cflags $PROG_LIBS

for prog in sdl_audio sdl_audio_dl; do
	for mode in device legacy; do
		name=$prog.$mode
		mkdir -p "$tmp/$name"
		env SDL_AUDIODRIVER=dummy AUDIOPROF_OUT="$tmp/$name/p.%p.json" LD_PRELOAD="$PRELOAD" \
			"$tmp/bin/$prog" $mode >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
		rc=$?
		[ $rc -eq 0 ] || { cat "$tmp/$name.out" "$tmp/$name.err"; fail "$name exited with status $rc"; }
		note "$name: $(cat "$tmp/$name.out")"
		read -r _ n <"$tmp/$name.out"
		f=$(one_profile "$tmp/$name") || exit 1
		check_py "$f" "$n" <<'PY' || exit 1
from audiochk import *
p = load_audio(sys.argv[1])
s = one_source(p, "sdl", "dummy/default")
expect_source(s, count=int(sys.argv[2]), deadline_ns=10666666, rate=48000, frames=512,
              allocs=16, frees=16, alloc_bytes=640)
expect_violations(p, s, [
    ("alloc", "malloc", 8, 256, "sdl_alloc"),
    ("alloc", "malloc", 8, 384, "sdl_alloc"),
    ("free", "free", 8, 0, "sdl_alloc"),
    ("free", "free", 8, 0, "sdl_alloc"),
])
expect_cb_pp(p, "sdl_alloc", 16, 640)
expect_pp(p, "out_sdl", tbk=3, tb=1665, cbk=0, cbb=0)
done()
PY
	done
done
echo "PASS"
