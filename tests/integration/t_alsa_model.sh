#!/usr/bin/env bash
# t_alsa_model.sh - the edges of the ALSA cycle model (libaudioprof(7), "ALSA"), on
# ALSA's null PCM with tests/progs/audio/alsa_model.c, and on real sox:
#   - lib: a poll + revents + snd_pcm_avail loop that makes no unsafe call of its own:
#     libasound's locks inside revents and avail are recorded as libasound's
#     ("library"), not in the source's rt_unsafe; `audioprof check --max-rt-unsafe 0`
#     passes, fails with --count-library-calls; the report lists them apart;
#   - first: the first period's FIRST_ALLOCS allocations, made after the first
#     snd_pcm_wait and before the first write, are counted;
#   - teardown: frees and fclose after the last write, then drain and close: in no
#     cycle; N-1 cycles;
#   - multi: 2048-frame writes on a 256-frame period: the deadline is 2048 frames'
#     time (42666666 ns);
#   - pad: teardown then a short write padding the last period (as sox does): the
#     teardown is in no cycle;
#   - each mode under the test's counting wrapper (tests/progs/libcbcount.c): its log
#     replayed by the model (cbcount.py) gives the profile's cycles, discarded cycles,
#     deadline and charged calls;
#   - AUDIOPROF_ON_VIOLATION=abort aborts on the first cycle's allocation, not on
#     teardown nor on libasound's locks;
#   - sox -t alsa null playing a WAV of its own: ceil(frames / 4096) + 1 writes of at
#     most 4096 frames (the last pads the period, when frames % 4096 != 0), so that many cycles minus 2; no free of sox's
#     teardown (sox_delete_effects_chain, the input's close) charged; deadline 4096
#     frames at 44.1 kHz.
# Skips when the ALSA headers or the null PCM are missing (sox part: when sox is).
. "$(dirname "$0")/lib/common.sh"
. "$ILIB/jackd.sh"     # build_audio_prog
. "$ILIB/analyzer.sh"  # $AP
need_preload
make_tmp
[ -f /usr/include/alsa/asoundlib.h ] || skip "ALSA headers missing (libasound2-dev)"
command -v aplay >/dev/null 2>&1 || skip "aplay not installed (alsa-utils)"
aplay -q -D null -d 1 /dev/zero >/dev/null 2>&1 </dev/null ||
	skip "ALSA's null PCM is not available here"
[ -x "$AP" ] || fail "the analyzer is not built ($AP)"
build_audio_prog alsa_model alsa_model.c -lasound

N=10
for mode in lib first teardown multi pad; do
	run_fg $mode "$tmp/bin/alsa_model" $mode $N
	grep -q "^alsa_model: mode=$mode periods=$N " "$tmp/$mode.err" || { cat "$tmp/$mode.err"; fail "$mode: no summary"; }
	f=$(one_profile "$tmp/$mode") || exit 1
	check_py "$f" $mode $N <<'PY' || { cat "$tmp/$mode.err"; fail "alsa_model $mode"; }
from audiochk import *
p = load_audio(sys.argv[1])
mode, n = sys.argv[2], int(sys.argv[3])
s = one_source(p, "alsa", "null")
vs = source_violations(p, s)
own = [v for v in vs if not v.get("library")]
lib = [v for v in vs if v.get("library")]
period_ns = 256 * 1000000000 // 48000
if mode == "lib":
    # N waits, each revents + avail: the first before the first write.
    expect_source(s, count=n, frames=256, deadline_ns=period_ns, allocs=0, frees=0,
                  rt_unsafe=0, discarded=0)
    ok(not own, "lib: the program\'s violations:%s" % describe_violations(p, own))
    ok(len(lib) > 0, "lib: no library-internal call recorded")
    ok(all(v.get("library") == "libasound" and v.get("kind") == "lock" for v in lib),
       "lib: library-internal calls other than libasound's locks:%s" % describe_violations(p, lib))
    funcs = set()
    for v in lib:
        funcs |= set(v_funcs(p, v))
    ok(any("snd_pcm_avail" in f for f in funcs) and
       any("snd_pcm_poll_descriptors_revents" in f for f in funcs),
       "lib: the locks' stacks name snd_pcm_avail and revents: %s" % sorted(funcs))
    eq("lib: lib_calls", s.get("lib_calls"), sum(v.get("count", 0) for v in lib))
    info("lib: %d calls inside libasound in %d cycles" % (s.get("lib_calls", 0), s.get("count", 0)))
elif mode == "first":
    expect_source(s, count=n, allocs=5, frees=5, alloc_bytes=320, rt_unsafe=0)
    expect_violations(p, s, [("alloc", "malloc", 5, 320, "first_period"),
                             ("free", "free", 5, 0, "first_period")])
    expect_cb_pp(p, "first_period", 5, 320)
elif mode == "teardown":
    # N writes: N-1 cycles between them; the stretch after the last is teardown.
    expect_source(s, count=n - 1, allocs=0, frees=0, rt_unsafe=0, discarded=1)
    ok(not own, "teardown: the program\'s violations:%s" % describe_violations(p, own))
    no_violations_with(p, "teardown")
elif mode == "multi":
    expect_source(s, count=n - 1, frames=2048, deadline_ns=2048 * 1000000000 // 48000,
                  allocs=0, frees=0, rt_unsafe=0)
elif mode == "pad":
    # N writes of 512 frames, then teardown, the 100-frame pad, drain: N cycles end in
    # a write; the pad's (teardown) and the one after it are discarded.
    expect_source(s, count=n - 1, frames=512, allocs=0, frees=0, rt_unsafe=0, discarded=2)
    ok(not own, "pad: the program\'s violations:%s" % describe_violations(p, own))
    no_violations_with(p, "teardown")
done()
PY
	note "alsa_model $mode: ok"
done

# The same runs under the test's own counting wrapper (tests/progs/libcbcount.c, alone),
# whose log of PCM calls and counted calls cbcount.py replays by the model above: the
# profile must hold what the replay gives (cycles, discarded, deadline, charged calls).
build_prog libcbcount
for mode in lib first teardown multi pad; do
	CBCOUNT_OUT=$tmp/$mode.cnt LD_PRELOAD=$BIN/libcbcount.so "$tmp/bin/alsa_model" $mode $N \
		>/dev/null 2>"$tmp/$mode.cnt.err" </dev/null || { cat "$tmp/$mode.cnt.err"; fail "$mode under the counting wrapper"; }
	f=$(one_profile "$tmp/$mode") || exit 1
	check_py "$f" "$tmp/$mode.cnt" $mode <<'PY' || fail "alsa_model $mode: the profile against the replayed log"
from audiochk import *
from cbcount import Counts
p = load_audio(sys.argv[1])
c = Counts(sys.argv[2])
mode = sys.argv[3]
s = one_source(p, "alsa", "null")
eq("%s: the wrapper's log: entries lost" % mode, c.ev_lost, 0)
ms = [m for m in c.alsa_cycles() if m.src]
eq("%s: PCMs with a source in the log" % mode, len(ms), 1)
m = ms[0]
expect_source(s, count=m.count, discarded=m.discarded,
              frames=m.frames, rate=m.rate, deadline_ns=m.deadline_ns())
vs = [v for v in source_violations(p, s) if not v.get("library")]
for call in ("malloc", "calloc", "realloc", "free", "fread", "pthread_mutex_lock"):
    eq("%s: %s charged (the replayed log)" % (mode, call),
       sum(v.get("count", 0) for v in vs if v.get("call") == call), m.calls(call))
done()
PY
done
note "the replayed wrapper logs agree"

# AUDIOPROF_ON_VIOLATION=abort: a violation in a provisional cycle aborts only when
# the cycle is kept (first: at its write), never for teardown or libasound's calls.
for mode in lib teardown pad first; do
	mkdir -p "$tmp/abort_$mode"
	env AUDIOPROF_ON_VIOLATION=abort AUDIOPROF_OUT="$tmp/abort_$mode/p.%p.json" LD_PRELOAD="$PRELOAD" \
		"$tmp/bin/alsa_model" $mode $N >"$tmp/abort_$mode.out" 2>"$tmp/abort_$mode.err" </dev/null
	rc=$?
	if [ $mode = first ]; then
		[ $rc -eq 134 ] || { cat "$tmp/abort_$mode.err"; fail "abort mode, first: exit $rc, expected SIGABRT (134)"; }
		grep -q "real-time violation: malloc()" "$tmp/abort_$mode.err" ||
			{ cat "$tmp/abort_$mode.err"; fail "abort mode, first: the violation is not reported"; }
	else
		[ $rc -eq 0 ] || { cat "$tmp/abort_$mode.err"; fail "abort mode, $mode: exit $rc (aborted on teardown or libasound's calls?)"; }
	fi
done
note "AUDIOPROF_ON_VIOLATION=abort: only on kept cycles"

# check: libasound's locks are not the program's unless asked.
f=$(one_profile "$tmp/lib")
"$AP" check --max-rt-unsafe 0 "$f" >"$tmp/check.out" 2>&1 ||
	{ cat "$tmp/check.out"; fail "check --max-rt-unsafe 0 fails on a program whose only unsafe calls are libasound's"; }
"$AP" check --max-rt-unsafe 0 --count-library-calls "$f" >"$tmp/check2.out" 2>&1
rc=$?
[ $rc -eq 1 ] || { cat "$tmp/check2.out"; fail "check --count-library-calls: exit $rc, expected 1"; }
grep -q "max-rt-unsafe" "$tmp/check2.out" || { cat "$tmp/check2.out"; fail "check --count-library-calls: no failed max-rt-unsafe line"; }
"$AP" report --color never "$f" >"$tmp/report.out" 2>&1 ||
	{ cat "$tmp/report.out"; fail "report"; }
grep -q "^Real-time violations (0 stacks" "$tmp/report.out" ||
	{ cat "$tmp/report.out"; fail "report: the program's violations are not 0"; }
grep -q "^Inside audio libraries" "$tmp/report.out" ||
	{ cat "$tmp/report.out"; fail "report: no list of the calls inside audio libraries"; }
grep -q "libasound" "$tmp/report.out" ||
	{ cat "$tmp/report.out"; fail "report: libasound not named"; }
note "check and report: libasound's calls apart"

# ------------------------------------------------------------------ real sox
command -v sox >/dev/null 2>&1 || { echo "PASS (sox not installed: its part skipped)"; exit 0; }
sox -n -r 44100 -c 2 -b 16 "$tmp/in.wav" synth 1 sine 440 2>"$tmp/soxgen.err" ||
	{ cat "$tmp/soxgen.err"; fail "sox cannot make the input"; }
FRAMES=$(soxi -s "$tmp/in.wav")
[ "${FRAMES:-0}" -gt 4096 ] || fail "soxi: $FRAMES frames in the input"
run_fg sox sox -q "$tmp/in.wav" -t alsa null
f=$(one_profile "$tmp/sox") || exit 1
check_py "$f" $FRAMES <<'PY' || exit 1
from audiochk import *
p = load_audio(sys.argv[1])
frames = int(sys.argv[2])
s = one_source(p, "alsa", "null")
# sox writes its 8192-sample buffer (4096 frames here) each time, the rest, then pads
# to its period at close: writes = ceil(frames / 4096) + 1 (frames % 4096 != 0).
writes = (frames + 4095) // 4096 + (1 if frames % 4096 else 0)
# Cycles between writes: writes - 1; the pad's is teardown: writes - 2.
expect_source(s, count=writes - 2, rate=44100, discarded=2)
eq("sox: deadline of its 4096-frame writes", s.get("deadline_ns") in (
    4096 * 1000000000 // 44100, (frames % 4096) * 1000000000 // 44100), True)
own = [v for v in source_violations(p, s) if not v.get("library")]
bad = [v for v in own if any(t in f for f in v_funcs(p, v) for t in (
    "sox_delete_effects", "sox_close", "lsx_close", "fclose", "stop_write"))]
ok(not bad, "sox: teardown calls charged:%s" % describe_violations(p, bad))
# What stays is sox's per-buffer work, once per cycle.
for v in own:
    ok(v.get("count") == s.get("count"), "sox: %s %s x%d in %d cycles" % (
       v.get("kind"), v.get("call"), v.get("count"), s.get("count")))
info("sox: %d cycles, deadline %d ns, %d discarded; per cycle:%s" % (
    s.get("count", 0), s.get("deadline_ns", 0), s.get("discarded", 0), describe_violations(p, own)))
done()
PY
note "sox: ok"
echo "PASS"
