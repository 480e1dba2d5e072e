#!/usr/bin/env bash
# t_alsa.sh - ALSA writer threads under the preload (no sound card: ALSA's null PCM,
# which runs unpaced, an in-process ioplug PCM, and a stand-in library for async):
#   - aplay -D null of a 1 s, 48 kHz WAV (and aplay -M, the mmap_writei path), and
#     arecord -D null -d 1: a cycle from each write's (read's) return to the next, so
#     exactly ceil(frames / period) - 1 cycles (the stretch after the last write, ended
#     by snd_pcm_drain or close, is teardown: not counted), the period ALSA granted
#     (aplay -v) as the deadline, no allocation inside; aplay's file read() between
#     two writes is a violation in each cycle;
#   - tests/progs/audio/alsa_loop.c, linked with -lasound and again loading it with
#     dlopen + dlsym: the blocking write loop, snd_pcm_wait, poll + revents, poll
#     alone (through the poll wrapper's hook), mmap begin/commit, a second thread writing while the main thread queries the PCM, and
#     two -EPIPE xruns: exact cycles, the exact allocations inside them and none
#     outside, deadline 256 / 48000;
#   - alsa_async.c with alsa_async_mock.c: the async handler's trampoline, the program's
#     private data handed back by snd_async_handler_get_callback_private.
# Skips when the ALSA headers or aplay are missing.
. "$(dirname "$0")/lib/common.sh"
. "$ILIB/jackd.sh"   # build_audio_prog (nothing else of it is used here)
need_preload
make_tmp
[ -f /usr/include/alsa/asoundlib.h ] || skip "ALSA headers missing (libasound2-dev)"
command -v aplay >/dev/null 2>&1 || skip "aplay not installed (alsa-utils)"
aplay -q -D null -d 1 /dev/zero >/dev/null 2>&1 </dev/null ||
	skip "ALSA's null PCM is not available here"

build_audio_prog alsa_loop alsa_loop.c -lasound
build_audio_prog alsa_loop_dl alsa_loop.c -DUSE_DLOPEN $PROG_LIBS
gcc $PROG_CFLAGS -fPIC -shared -o "$tmp/bin/libasound_mock.so" "$PROGS/audio/alsa_async_mock.c" \
	>"$tmp/build_mock.log" 2>&1 || { cat "$tmp/build_mock.log"; fail "cannot build libasound_mock.so"; }
build_audio_prog alsa_async alsa_async.c -L"$tmp/bin" -lasound_mock -Wl,-rpath,"$tmp/bin"

# ------------------------------------------------------------------ aplay, arecord
python3 - "$tmp/tone.wav" <<'PY' || fail "cannot write the WAV"
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(2); w.setsampwidth(2); w.setframerate(48000)
w.writeframes(b"".join(struct.pack("<hh", v, v) for v in
                       (int(8000 * math.sin(2 * math.pi * 440 * i / 48000)) for i in range(48000))))
w.close()
PY
aplay -v -D null "$tmp/tone.wav" >"$tmp/aplay_v.out" 2>&1 </dev/null || { cat "$tmp/aplay_v.out"; fail "aplay -D null"; }
period=$(awk '$1 == "period_size" { print $3; exit }' "$tmp/aplay_v.out")
[ -n "$period" ] && [ "$period" -gt 0 ] || { cat "$tmp/aplay_v.out"; fail "no period_size in aplay -v"; }
cycles=$(((48000 + period - 1) / period))
note "aplay -D null: period $period frames: $cycles cycles expected"

check_tool() { # FILE NAME CYCLES PERIOD READS
	check_py "$@" <<'PY'
from audiochk import *
p = load_audio(sys.argv[1])
name, n, period, reads = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = one_source(p, "alsa", "null")
expect_source(s, count=n, frames=period, rate=48000, deadline_ns=period * 1000000000 // 48000,
              xruns=0, allocs=0, frees=0, alloc_bytes=0)
eq("%s: alloc/free violations" % name,
   [v for v in source_violations(p, s) if v.get("kind") in ("alloc", "free")], [])
if reads >= 0:
    # aplay reads the next chunk of the WAV between two writes (not after the last).
    rd = [v for v in source_violations(p, s) if v.get("kind") == "io" and v.get("call") == "read"]
    eq("%s: read() calls inside cycles" % name, sum(v.get("count", 0) for v in rd), reads)
info("%s: %d cycles of %d frames, mean %d ns, %d unsafe call(s)" % (
    name, s.get("count", 0), s.get("frames", 0), s.get("mean_ns", 0), s.get("rt_unsafe", 0)))
done()
PY
}

run_fg aplay aplay -q -D null "$tmp/tone.wav"
f=$(one_profile "$tmp/aplay") || exit 1
check_tool "$f" aplay $((cycles - 1)) "$period" $((cycles - 1)) || exit 1

run_fg aplay_mmap aplay -M -q -D null "$tmp/tone.wav"
f=$(one_profile "$tmp/aplay_mmap") || exit 1
check_tool "$f" "aplay -M" $((cycles - 1)) "$period" $((cycles - 1)) || exit 1

# arecord writes each period to its file after the read, and finishes the WAV header
# after the last read (teardown, ended by snd_pcm_close: not counted); no read() to count.
run_fg arecord arecord -q -D null -d 1 -f S16_LE -r 48000 -c 2 "$tmp/rec.wav"
f=$(one_profile "$tmp/arecord") || exit 1
check_tool "$f" arecord $((cycles - 1)) "$period" -1 || exit 1

# ------------------------------------------------------------------ alsa_loop
N=12
check_loop() { # FILE MODE N
	check_py "$@" <<'PY'
from audiochk import *
p = load_audio(sys.argv[1])
mode, n = sys.argv[2], int(sys.argv[3])
# Cycles: a blocking write's return begins one (the first write ends none, the
# stretch after the last one is teardown); a non-blocking loop's begin at the end of
# its wait, the first one included when it is an ALSA wait (snd_pcm_wait, revents);
# a bare poll() before the first write names no PCM.
cycles = n if mode in ("wait", "revents", "mmap") else n - 1
inside = cycles   # process_period() calls that run inside a cycle
s = one_source(p, "alsa", "aptest" if mode == "xrun" else "null")
expect_source(s, count=cycles, frames=256, rate=48000, deadline_ns=5333333,
              xruns=2 if mode == "xrun" else 0,
              allocs=inside, frees=inside, alloc_bytes=100 * inside)
expect_violations(p, s, [
    ("alloc", "malloc", inside, 100 * inside, "process_period"),
    ("free", "free", inside, 0, "process_period"),
])
expect_cb_pp(p, "process_period", inside, 100 * inside)
expect_pp(p, "out_before", tbk=1, tb=1000, cbk=0, cbb=0)
expect_pp(p, "out_after", tbk=1, tb=1000, cbk=0, cbb=0)
no_violations_with(p, "out_before")
no_violations_with(p, "out_after")
# Anything else flagged is libasound's own lock inside avail_update/mmap_begin: the
# library's, recorded apart and not counted against the program.
other = [v for v in source_violations(p, s) if v.get("kind") not in ("alloc", "free")]
ok(all(v.get("kind") == "lock" and v.get("library") == "libasound" for v in other),
   "%s: unexpected violations:%s" % (mode, describe_violations(
       p, [v for v in other if v.get("kind") != "lock" or v.get("library") != "libasound"])))
eq("%s: rt_unsafe (the program's)" % mode, s.get("rt_unsafe"), 0)
if mode == "thread":
    ok(s.get("thread") in ("alsa-writer", "?"), "thread: source thread %r" % s.get("thread"))
done()
PY
}

for mode in block wait revents mmap xrun probe thread; do
	run_fg "loop_$mode" "$tmp/bin/alsa_loop" $mode $N
	grep -q "^alsa_loop: mode=$mode periods=$N " "$tmp/loop_$mode.err" || { cat "$tmp/loop_$mode.err"; fail "$mode: no summary"; }
	f=$(one_profile "$tmp/loop_$mode") || exit 1
	check_loop "$f" $mode $N || { cat "$tmp/loop_$mode.err"; fail "alsa_loop $mode"; }
	note "alsa_loop $mode: ok"
done
for mode in block xrun wait; do
	run_fg "dl_$mode" "$tmp/bin/alsa_loop_dl" $mode $N
	f=$(one_profile "$tmp/dl_$mode") || exit 1
	check_loop "$f" $mode $N || { cat "$tmp/dl_$mode.err"; fail "alsa_loop (dlopen) $mode"; }
	note "alsa_loop (dlopen) $mode: ok"
done

# poll + write, nothing from ALSA in between: only rtcheck.c's poll wrapper can tell
# that the wait ended (audio_alsa_wait_done).
run_fg loop_poll "$tmp/bin/alsa_loop" poll $N
f=$(one_profile "$tmp/loop_poll") || exit 1
check_loop "$f" poll $N || { cat "$tmp/loop_poll.err"; fail "alsa_loop poll (the poll wrapper's hook)"; }
note "alsa_loop poll: ok"

# ------------------------------------------------------------------ async handler
run_fg async "$tmp/bin/alsa_async" 5
f=$(one_profile "$tmp/async") || exit 1
check_py "$f" <<'PY' || { cat "$tmp/async.err"; exit 1; }
from audiochk import *
p = load_audio(sys.argv[1])
s = one_source(p, "alsa", "mockpcm")
expect_source(s, count=5, allocs=5, frees=5, alloc_bytes=320, xruns=0)
expect_violations(p, s, [
    ("alloc", "malloc", 5, 320, "process_async"),
    ("free", "free", 5, 0, "process_async"),
])
expect_pp(p, "out_before", tbk=1, cbk=0)
expect_pp(p, "out_after", tbk=1, cbk=0)
done()
PY
note "async handler: ok"
echo "PASS"
