#!/usr/bin/env bash
# t_portaudio.sh - a PortAudio program (tests/progs/audio/pa_jack.c) on the JACK host API
# of a private jackd (dummy backend, 48 kHz, 512 frames), under the preload. PortAudio's
# JACK client calls the program's callback from its own JACK process callback, so both
# are wrapped and nest: exactly one source is timed for the user's callback (api
# "portaudio", count == the callbacks the program counted), and the allocations made
# in it are attributed to it, exactly; PortAudio's JACK client (a "jack" source named
# after it) gets no allocation and is timed only in the cycles without a user callback.
# Then the same program through Pa_OpenDefaultStream on PortAudio's default output device
# (with the jackd running, ALSA's "jack" pcm when libasound2-plugins is installed; that
# part is skipped when there is no default device): again exactly one "portaudio"
# source, the user's callback wrapped once although Pa_OpenDefaultStream calls
# Pa_OpenStream through the PLT. Skips when jackd, the PortAudio headers or PortAudio's
# JACK host API are missing.
. "$(dirname "$0")/lib/common.sh"
. "$ILIB/jackd.sh"
need_preload
make_tmp
command -v jackd >/dev/null 2>&1 || skip "jackd not installed (Debian package jackd2)"
[ -f /usr/include/portaudio.h ] || skip "PortAudio headers missing (portaudio19-dev)"
build_audio_prog pa_jack pa_jack.c -lportaudio
start_jackd 512

# run_pa NAME [ARG]: pa_jack under the preload, profile in $tmp/NAME/; sets rc.
run_pa() {
	mkdir -p "$tmp/$1"
	env AUDIOPROF_OUT="$tmp/$1/p.%p.json" LD_PRELOAD="$PRELOAD" "$tmp/bin/pa_jack" ${2:-} \
		>"$tmp/$1.out" 2>"$tmp/$1.err" </dev/null
	rc=$?
}

check_user_source() { # FILE CALLBACKS: the one portaudio source and its allocations
	check_py "$@" <<'PY'
from audiochk import *
p = load_audio(sys.argv[1])
s = one_source(p, "portaudio")
ok(s.get("name", "").startswith("PortAudio/"), "portaudio source name %r" % s.get("name"))
expect_source(s, count=int(sys.argv[2]))
expect_pa_allocs(p, s)
info("user callback %r: %d callbacks, mean %d ns" % (s.get("name"), s.get("count", 0), s.get("mean_ns", 0)))
done()
PY
}

run_pa pa
[ $rc -eq 3 ] && skip "this PortAudio has no JACK host API"
[ $rc -eq 0 ] || { cat "$tmp/pa.out" "$tmp/pa.err"; fail "pa_jack exited with status $rc"; }
note "pa_jack: $(cat "$tmp/pa.out")"
read -r _ n <"$tmp/pa.out"
f=$(one_profile "$tmp/pa") || exit 1
check_user_source "$f" "$n" || exit 1
check_py "$f" <<'PY' || exit 1
from audiochk import *
p = load_audio(sys.argv[1])
timed = [s for s in callbacks(p) if s.get("count", 0) > 0 and s.get("allocs", 0) > 0]
eq("sources with callback allocations", len(timed), 1)
# PortAudio's own JACK client: its callback wraps the user's, so it is never charged
# with the user's allocations; its count is the cycles PortAudio ran no user callback.
js = sources(p, "jack")
eq("jack sources (PortAudio's JACK client)", len(js), 1)
for j in js:
    expect_source(j, allocs=0, frees=0)
    eq("violations of kind alloc/free charged to PortAudio's JACK client",
       [v for v in source_violations(p, j) if v.get("kind") in ("alloc", "free")], [])
    info("PortAudio's JACK client %r: %d cycles without a user callback" % (j.get("name"), j.get("count", 0)))
done()
PY

run_pa default default
if [ $rc -eq 4 ]; then
	note "Pa_OpenDefaultStream not checked: $(cat "$tmp/default.out")"
else
	[ $rc -eq 0 ] || { cat "$tmp/default.out" "$tmp/default.err"; fail "pa_jack default exited with status $rc"; }
	note "pa_jack default: $(cat "$tmp/default.out")"
	read -r _ n <"$tmp/default.out"
	f=$(one_profile "$tmp/default") || exit 1
	check_user_source "$f" "$n" || exit 1
fi
echo "PASS"
