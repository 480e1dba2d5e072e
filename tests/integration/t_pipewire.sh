#!/usr/bin/env bash
# t_pipewire.sh - PipeWire process events under the preload, against a private
# pipewire (its runtime directory in the test's directory; the Dummy-Driver clocks the
# graph, so no sound card is needed):
#   - tests/progs/audio/pw_loop.c filter: pw_filter_new_simple, RT_PROCESS, one DSP
#     port, node.always-process (scheduled without a session manager): 30 working
#     process calls on PipeWire's data thread, the graph's quantum (256 / 48000) as the
#     deadline, 30 allocations inside (process_cycle), none outside; twice 15 calls
#     from two filters of that name made one after the other: one source of 30;
#     the source's count is every call the program saw (its summary's entries=):
#     the quit asked from the 30th call takes effect on the main loop, and until the
#     filter is destroyed the graph calls it each quantum (31, or 46 under load);
#   - with a session manager (wireplumber on a private D-Bus session bus) and a null
#     sink made with pw-cli: pw_loop stream (pw_stream_new_simple, process on the main
#     loop) and rtstream (PW_STREAM_FLAG_RT_PROCESS: PipeWire calls only the first
#     process listener, which must stay the program's), 30 working calls each (count:
#     every call the program saw, as for the filter); and pw-play of a
#     0.5 s WAV, natively and under the preload with the test's counting wrapper after it
#     (tests/progs/libcbcount.c): same output, a source named after its stream, as many
#     process calls as the wrapper counted, the file read in them (one read per
#     quantum, and the one that finds the end) and the drain.
# Skips when pipewire or its headers are missing or it cannot start here; the stream
# part is skipped (noted) when wireplumber or dbus-daemon is missing.
. "$(dirname "$0")/lib/common.sh"
. "$ILIB/jackd.sh"   # build_audio_prog (nothing else of it is used here)
need_preload
make_tmp
command -v pipewire >/dev/null 2>&1 || skip "pipewire not installed"
command -v pw-cli >/dev/null 2>&1 || skip "pw-cli not installed (pipewire-bin)"
pkg-config --exists libpipewire-0.3 2>/dev/null || skip "PipeWire headers missing (libpipewire-0.3-dev)"

build_audio_prog pw_loop pw_loop.c $(pkg-config --cflags --libs libpipewire-0.3)

# ------------------------------------------------------------------ servers
pids=()
stop_all() {
	local i p
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do   # newest first
		p=${pids[$i]}
		kill "$p" 2>/dev/null || continue
		for _ in $(seq 1 25); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	pids=()
}
trap 'stop_all; rm -rf "$tmp"' EXIT

# wait_for WHAT CMD...: until CMD succeeds (10 s at most).
wait_for() {
	local what=$1
	shift
	for _ in $(seq 1 50); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	fail "$what not ready after 10 s"
}

mkdir -p "$tmp/home" "$tmp/run" && chmod 700 "$tmp/run"
export HOME=$tmp/home XDG_RUNTIME_DIR=$tmp/run XDG_CONFIG_HOME=$tmp/home/.config
export XDG_STATE_HOME=$tmp/home/.local/state PIPEWIRE_RUNTIME_DIR=$tmp/run
unset PIPEWIRE_REMOTE DBUS_SESSION_BUS_ADDRESS
pipewire >"$tmp/pipewire.log" 2>&1 </dev/null &
pids+=($!)
for _ in $(seq 1 50); do
	kill -0 "${pids[0]}" 2>/dev/null || { cat "$tmp/pipewire.log"; pids=(); skip "pipewire could not start here (see its log above)"; }
	[ -S "$tmp/run/pipewire-0" ] && pw-cli info 0 >/dev/null 2>&1 && break
	sleep 0.2
done
pw-cli info 0 >/dev/null 2>&1 || { cat "$tmp/pipewire.log"; fail "pipewire not ready after 10 s"; }
note "pipewire (pid ${pids[0]}) is up"

check_loop() { # FILE MODE
	check_py "$@" <<'PY'
import re
from audiochk import *
p = load_audio(sys.argv[1])
mode = sys.argv[2]
# Every call of the process callback, counted by the program itself: the 30 that work
# and those that come before the quit takes effect (timing, so not a fixed number).
entries = int(re.search(r" entries=(\d+)$", open(sys.argv[3]).read(), re.M).group(1))
ok(entries >= 30, "%s: the program saw %d process calls, fewer than its 30" % (mode, entries))
s = one_source(p, "pipewire", {"filter": "aptest-filter", "filter2": "aptest-filter",
                               "stream": "aptest-stream",
                               "rtstream": "aptest-rtstream"}[mode])
# node.latency 256/48000: the graph runs at that quantum (nothing else asks for less).
expect_source(s, count=entries, frames=256, rate=48000, deadline_ns=5333333,
              allocs=30, frees=30, alloc_bytes=3840)
expect_violations(p, s, [
    ("alloc", "malloc", 30, 3840, "process_cycle"),
    ("free", "free", 30, 0, "process_cycle"),
])
expect_cb_pp(p, "process_cycle", 30, 3840)
expect_pp(p, "out_before", tbk=1, tb=1000, cbk=0, cbb=0)
expect_pp(p, "out_after", tbk=1, tb=1000, cbk=0, cbb=0)
no_violations_with(p, "out_before")
no_violations_with(p, "out_after")
info("%s: %d calls (%d after the 30th), mean %d ns, period %d ns" % (mode, s.get("count", 0),
     entries - 30, s.get("mean_ns", 0), s.get("period_mean_ns", 0)))
done()
PY
}

# ------------------------------------------------------------------ a filter, no session manager
run_fg filter "$tmp/bin/pw_loop" filter 30
grep -Eq '^pw_loop: mode=filter calls=30 quantum=256 rate=48000 entries=[0-9]+$' "$tmp/filter.err" ||
	{ cat "$tmp/filter.err"; fail "filter: wrong summary"; }
f=$(one_profile "$tmp/filter") || exit 1
check_loop "$f" filter "$tmp/filter.err" || exit 1

# Two filters of one name, one after the other: the second reuses the first's context
# (freed by pw_filter_destroy) and its source.
run_fg filter2 "$tmp/bin/pw_loop" filter2 30
f=$(one_profile "$tmp/filter2") || exit 1
check_loop "$f" filter2 "$tmp/filter2.err" || exit 1

# ------------------------------------------------------------------ streams, with wireplumber
if ! command -v wireplumber >/dev/null 2>&1 || ! command -v dbus-daemon >/dev/null 2>&1; then
	note "wireplumber or dbus-daemon missing: stream checks skipped"
	echo "PASS"
	exit 0
fi
dbus-daemon --session --nofork --nopidfile --address="unix:path=$tmp/run/bus" \
	>"$tmp/dbus.log" 2>&1 </dev/null &
pids+=($!)
export DBUS_SESSION_BUS_ADDRESS=unix:path=$tmp/run/bus
wait_for "dbus-daemon" test -S "$tmp/run/bus"
wireplumber >"$tmp/wireplumber.log" 2>&1 </dev/null &
pids+=($!)
wp_up() { pw-cli ls Client 2>/dev/null | grep -q '"WirePlumber"'; }
wait_for "wireplumber" wp_up
pw-cli create-node adapter '{ factory.name = support.null-audio-sink node.name = apnull
	media.class = Audio/Sink object.linger = true audio.position = [ FL FR ] }' \
	>"$tmp/sink.log" 2>&1 || { cat "$tmp/sink.log"; fail "pw-cli create-node (null sink)"; }
sink_up() { pw-cli ls Node 2>/dev/null | grep -q '"apnull"'; }
wait_for "the null sink" sink_up
note "wireplumber and a null sink are up"

for mode in stream rtstream; do
	run_fg "$mode" "$tmp/bin/pw_loop" $mode 30 apnull
	grep -q "^pw_loop: mode=$mode calls=30 " "$tmp/$mode.err" || { cat "$tmp/$mode.err"; fail "$mode: no summary"; }
	f=$(one_profile "$tmp/$mode") || exit 1
	check_loop "$f" $mode "$tmp/$mode.err" || { cat "$tmp/wireplumber.log" | tail -20; exit 1; }
done

if command -v pw-play >/dev/null 2>&1; then
	python3 - "$tmp/half.wav" <<'PY' || fail "cannot write the WAV"
import sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(2); w.setsampwidth(2); w.setframerate(48000)
w.writeframes(b"\0\0\0\0" * 24000)
w.close()
PY
	# Natively, then under the preload with the test's counting wrapper after it
	# (tests/progs/libcbcount.c): it counts the stream's process events.
	build_prog libcbcount
	pw-play --target apnull "$tmp/half.wav" >"$tmp/pwplay.native.out" 2>"$tmp/pwplay.native.err" </dev/null
	nrc=$?
	mkdir -p "$tmp/pwplay"
	timeout 30 env AUDIOPROF_OUT="$tmp/pwplay/p.%p.json" CBCOUNT_OUT="$tmp/pwplay.cnt" \
		LD_PRELOAD="$PRELOAD $BIN/libcbcount.so" pw-play --target apnull "$tmp/half.wav" \
		>"$tmp/pwplay.out" 2>"$tmp/pwplay.err" </dev/null
	rc=$?
	[ $rc -eq $nrc ] && [ $nrc -eq 0 ] || { cat "$tmp/pwplay.err"; fail "pw-play: exit status $rc under the preload, natively $nrc"; }
	for s in out err; do
		cmp -s "$tmp/pwplay.native.$s" "$tmp/pwplay.$s" || { diff "$tmp/pwplay.native.$s" "$tmp/pwplay.$s"; fail "pw-play: std$s differs"; }
	done
	f=$(one_profile "$tmp/pwplay") || exit 1
	check_py "$f" "$tmp/pwplay.cnt" <<'PY' || { note "counts: $(tr '\n' ' ' <"$tmp/pwplay.cnt")"; exit 1; }
from audiochk import *
from cbcount import Counts, PROFILER_FILES
p = load_audio(sys.argv[1])
c = Counts(sys.argv[2])
s = one_source(p, "pipewire")
ok(c.pw_process >= 1, "pw-play: the wrapper counted no process event")
eq("pw-play: process calls (the wrapper counted %d)" % c.pw_process, s.get("count"), c.pw_process)
ok(s.get("rate") == 48000 and s.get("frames", 0) > 0, "pw-play: quantum %s / rate %s" % (
   s.get("frames"), s.get("rate")))
expect_source(s, deadline_ns=s.get("frames", 0) * 1000000000 // 48000)
vs = source_violations(p, s)
# pw-play reads the file in its process callback, one quantum per read() through
# libsndfile, until a read finds the end of the file; then it drains the stream
# (pw_stream_flush) and is called a few more times before the drain is done.
q = s.get("frames", 0) or 1
reads = (24000 + q - 1) // q + 1
eq("pw-play: file reads (sf_readf_short) in the process calls (24000 frames, quantum %d)" % q,
   sum(v.get("count", 0) for v in vs if v.get("call") == "read" and "sf_readf_short" in v_funcs(p, v)), reads)
ok(c.pw_process >= reads, "pw-play: %d process calls, %d reads" % (c.pw_process, reads))
ok(any("pw_stream_flush" in v_funcs(p, v) for v in vs), "pw-play: no pw_stream_flush in a process call")
eq("pw-play: locks charged (the wrapper: none but the profiler's own)", sum(v.get("count", 0) for v in vs
   if v.get("call") == "pthread_mutex_lock"),
   c.calls("pthread_mutex_lock") - c.calls("pthread_mutex_lock", "own", *PROFILER_FILES))
eq("pw-play: calls of the profiler's own in the process calls", c.own(), {})
info("pw-play %r: %d calls, quantum %d; the wrapper: %s" % (s.get("name"), s.get("count", 0), s.get("frames", 0), c.describe()))
info("pw-play violations:" + describe_violations(p, vs))
done()
PY
fi
echo "PASS"
