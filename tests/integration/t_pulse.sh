#!/usr/bin/env bash
# t_pulse.sh - PulseAudio stream callbacks under the preload, against a private
# pulseaudio (no default.pa: a null sink "apnull" and the native protocol on a socket
# in the test's directory, anonymous access; it paces the streams in real time):
#   - tests/progs/audio/pulse_loop.c: a playback stream's write callback and a record
#     stream's read callback (recording the null sink's monitor), 20 calls each: exactly
#     20 callbacks, the deadline of the last request (nbytes / (4 bytes x 48000)), the
#     program's own userdata, 20 allocations inside (process_chunk) and none outside;
#   - paplay of a 0.5 s WAV, natively and under the preload with the test's counting
#     wrapper after it (tests/progs/libcbcount.c): same output and status, a source
#     named after the stream (the file), as many write callbacks as the wrapper
#     counted, the file read and the stream drained from inside the callback, its
#     allocations and locks those the wrapper counted there (the profiler's own not
#     charged).
# Skips when pulseaudio, paplay or the libpulse headers are missing, or when the server
# cannot start here.
. "$(dirname "$0")/lib/common.sh"
. "$ILIB/jackd.sh"   # build_audio_prog (nothing else of it is used here)
need_preload
make_tmp
command -v pulseaudio >/dev/null 2>&1 || skip "pulseaudio not installed"
command -v paplay >/dev/null 2>&1 || skip "paplay not installed (pulseaudio-utils)"
[ -f /usr/include/pulse/pulseaudio.h ] || skip "PulseAudio headers missing (libpulse-dev)"

build_audio_prog pulse_loop pulse_loop.c -lpulse

# ------------------------------------------------------------------ the server
pa_pid=
stop_pulse() {
	if [ -n "$pa_pid" ] && kill -0 "$pa_pid" 2>/dev/null; then
		kill "$pa_pid" 2>/dev/null
		for _ in $(seq 1 25); do kill -0 "$pa_pid" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$pa_pid" 2>/dev/null
		wait "$pa_pid" 2>/dev/null
	fi
	pa_pid=
}
trap 'stop_pulse; rm -rf "$tmp"' EXIT

# Everything the server and the clients write stays in $tmp.
mkdir -p "$tmp/home" "$tmp/run" && chmod 700 "$tmp/run"
export HOME=$tmp/home XDG_RUNTIME_DIR=$tmp/run XDG_CONFIG_HOME=$tmp/home/.config
export PULSE_RUNTIME_PATH=$tmp/run/pulse PULSE_STATE_PATH=$tmp/home/state
export PULSE_SERVER=unix:$tmp/run/native PULSE_CLIENTCONFIG=$tmp/client.conf
printf 'autospawn = no\n' >"$tmp/client.conf"
pulseaudio --daemonize=no --system=no --use-pid-file=no --exit-idle-time=-1 -n \
	--disallow-module-loading=no --log-target=stderr \
	--load="module-null-sink sink_name=apnull rate=48000 channels=2" \
	--load="module-native-protocol-unix auth-anonymous=1 socket=$tmp/run/native" \
	>"$tmp/pulse.log" 2>&1 </dev/null &
pa_pid=$!
ready=0
for _ in $(seq 1 50); do
	if ! kill -0 "$pa_pid" 2>/dev/null; then
		cat "$tmp/pulse.log"
		pa_pid=
		skip "pulseaudio could not start here (see its log above)"
	fi
	[ -S "$tmp/run/native" ] && pactl info >/dev/null 2>&1 && { ready=1; break; }
	sleep 0.2
done
[ $ready = 1 ] || { cat "$tmp/pulse.log"; fail "pulseaudio not ready after 10 s"; }
note "pulseaudio (pid $pa_pid) is up"

# ------------------------------------------------------------------ pulse_loop
for m in play:apnull record:apnull.monitor; do
	mode=${m%%:*}
	run_fg "$mode" "$tmp/bin/pulse_loop" "$mode" 20 "${m#*:}"
	summary=$(grep "^pulse_loop: mode=$mode " "$tmp/$mode.err") || { cat "$tmp/$mode.err"; fail "$mode: no summary"; }
	frames=${summary##*frames=}
	f=$(one_profile "$tmp/$mode") || exit 1
	check_py "$f" "$mode" "$frames" <<'PY' || { cat "$tmp/$mode.err"; exit 1; }
from audiochk import *
p = load_audio(sys.argv[1])
mode, frames = sys.argv[2], int(sys.argv[3])
s = one_source(p, "pulse", "aptest-play" if mode == "play" else "aptest-rec")
expect_source(s, count=20, rate=48000, frames=frames, deadline_ns=frames * 1000000000 // 48000)
ok(frames > 0, "%s: the last callback asked for no frames" % mode)
# process_chunk's malloc and free: 20 each (the first callback may come through
# another libpulse path: several stacks, one function).
chunk = [v for v in source_violations(p, s) if "process_chunk" in v_funcs(p, v)]
for kind, call, nbytes in (("alloc", "malloc", 2000), ("free", "free", 0)):
    vs = [v for v in chunk if v.get("kind") == kind and v.get("call") == call]
    eq("%s: %s() calls in process_chunk" % (mode, call), sum(v.get("count", 0) for v in vs), 20)
    eq("%s: %s() bytes in process_chunk" % (mode, call), sum(v.get("bytes", 0) for v in vs), nbytes)
expect_cb_pp(p, "process_chunk", 20, 2000)
expect_pp(p, "out_before", tbk=1, tb=1000, cbk=0, cbb=0)
expect_pp(p, "out_after", tbk=1, tb=1000, cbk=0, cbb=0)
no_violations_with(p, "out_before")
no_violations_with(p, "out_after")
info("%s: %d callbacks, %d frames last, mean %d ns, period %d ns" % (
    mode, s.get("count", 0), frames, s.get("mean_ns", 0), s.get("period_mean_ns", 0)))
done()
PY
done

# ------------------------------------------------------------------ paplay
python3 - "$tmp/half.wav" <<'PY' || fail "cannot write the WAV"
import sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(2); w.setsampwidth(2); w.setframerate(48000)
w.writeframes(b"\0\0\0\0" * 24000)
w.close()
PY
# Natively, then under the preload with the test's own counting wrapper after it
# (tests/progs/libcbcount.c): it counts paplay's write callbacks and the bytes asked.
build_prog libcbcount
paplay -d apnull "$tmp/half.wav" >"$tmp/paplay.native.out" 2>"$tmp/paplay.native.err" </dev/null
nrc=$?
mkdir -p "$tmp/paplay"
timeout 30 env AUDIOPROF_OUT="$tmp/paplay/p.%p.json" CBCOUNT_OUT="$tmp/paplay.cnt" \
	LD_PRELOAD="$PRELOAD $BIN/libcbcount.so" paplay -d apnull "$tmp/half.wav" \
	>"$tmp/paplay.out" 2>"$tmp/paplay.err" </dev/null
rc=$?
[ $rc -eq $nrc ] && [ $nrc -eq 0 ] || { cat "$tmp/paplay.err"; fail "paplay: exit status $rc under the preload, natively $nrc"; }
for s in out err; do
	cmp -s "$tmp/paplay.native.$s" "$tmp/paplay.$s" || { diff "$tmp/paplay.native.$s" "$tmp/paplay.$s"; fail "paplay: std$s differs"; }
done
f=$(one_profile "$tmp/paplay") || exit 1
check_py "$f" "$tmp/half.wav" "$tmp/paplay.cnt" <<'PY' || { note "counts: $(tr '\n' ' ' <"$tmp/paplay.cnt")"; exit 1; }
from audiochk import *
from cbcount import Counts
p = load_audio(sys.argv[1])
c = Counts(sys.argv[3])
srcs = sources(p, "pulse")
eq("paplay: pulse sources", len(srcs), 1)
if srcs:
    s = srcs[0]
    ok(s.get("name") in (sys.argv[2], "half.wav"), "paplay: source named %r" % s.get("name"))
    ok(c.pa_writes >= 1, "paplay: the wrapper counted no write callback")
    eq("paplay: write callbacks (the wrapper counted %d)" % c.pa_writes, s.get("count"), c.pa_writes)
    ok(c.pa_bytes >= 24000 * 4, "paplay: %d bytes asked for a 96000-byte file" % c.pa_bytes)
    expect_source(s, rate=48000, deadline_ns=s.get("frames", 0) * 1000000000 // 48000)
    vs = source_violations(p, s)
    def total(call):
        return sum(v.get("count", 0) for v in vs if v.get("call") == call)
    # paplay's write callback reads the file (libsndfile) and, at its end, drains the
    # stream from inside the callback: libpulse allocates and takes its mutex there.
    ok(any("sf_readf_short" in v_funcs(p, v) for v in vs if v.get("kind") == "io"),
       "paplay: no read of the file (sf_readf_short) in the write callback")
    ok(any("pa_stream_drain" in v_funcs(p, v) for v in vs if v.get("kind") == "alloc"),
       "paplay: no allocation in pa_stream_drain from the write callback")
    for call in ("malloc", "calloc"):
        eq("paplay: %s charged (the wrapper)" % call, total(call), c.calls(call, "own"))
    eq("paplay: locks charged (the wrapper: by libpulse)", total("pthread_mutex_lock"),
       c.calls("pthread_mutex_lock", "libpulse"))
    info("paplay: %d callback(s), %d frames last; the wrapper: %s" % (s.get("count", 0), s.get("frames", 0), c.describe()))
    info("paplay violations:" + describe_violations(p, vs))
done()
PY
echo "PASS"
