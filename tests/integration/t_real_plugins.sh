#!/usr/bin/env bash
# t_real_plugins.sh - real Debian programs whose JACK client lives in a plugin that
# loads libjack RTLD_LOCAL, against a private jackd (dummy backend, 48 kHz, 512
# frames): the preload's wrappers must find libjack in the plugin's own dependencies
# (preload/entry/audio_dl.c). Before, csound exited 1 ("rtjack: error setting xrun callback")
# and aplay hung.
#   - csound (its rtjack module) with -+rtaudio=jack playing a 2 s sine;
#   - aplay through ALSA's jack PCM plugin (libasound2-plugins), from an asoundrc of
#     this test's own (HOME=$tmp/home), playing a 2 s WAV; the plugin's callback is
#     a JACK source whose calls are not libasound's (they are not made inside the
#     profiler's ALSA wrappers), and aplay's ALSA source discards one cycle, the one
#     ending in drain.
# Each: exit status, stdout and stderr exactly as natively; the profile has the JACK
# source of the plugin's client with the server's format, its count that of the test's
# own wrapper (tests/progs/libcbfirst.so, BEFORE the preload: it sees the plugin's
# jack_set_process_callback, defines no libc name, and its trampoline calls the
# plugin's callback), and the callback's one pthread_mutex_trylock a cycle; and the
# callbacks played the file: aplay's drain returns only after the plugin's process
# callback has taken all 96000 frames, at most 512 per cycle, so at least 188
# callbacks; csound's
# rtjack callback has played the 2 s of score less what its ring buffer (-B 4096:
# 8 periods) still held at the end (at least 179 callbacks; 150 asked).
# Skips when jackd, csound or the ALSA jack plugin is missing.
. "$(dirname "$0")/lib/common.sh"
. "$ILIB/jackd.sh"
need_preload
make_tmp
command -v jackd >/dev/null 2>&1 || skip "jackd not installed (Debian package jackd2)"
command -v csound >/dev/null 2>&1 || skip "csound not installed (Debian package csound)"
command -v aplay >/dev/null 2>&1 || skip "aplay not installed (alsa-utils)"
jackpcm=$(ls /usr/lib/*/alsa-lib/libasound_module_pcm_jack.so 2>/dev/null | head -1)
[ -n "$jackpcm" ] || skip "ALSA's jack PCM plugin missing (libasound2-plugins)"
build_prog libcbfirst
start_jackd 512

# run_same NAME CMD...: CMD natively, then under the preload (profile in $tmp/NAME/),
# each bounded to 60 s (the preload not in a `timeout` of its own); exit status, stdout
# and stderr must be the same.
run_same() {
	local name=$1 pid rc nrc
	shift
	"$@" >"$tmp/$name.native.out" 2>"$tmp/$name.native.err" </dev/null
	nrc=$?
	mkdir -p "$tmp/$name"
	env AUDIOPROF_OUT="$tmp/$name/p.%p.json" CBCOUNT_OUT="$tmp/$name.cnt" \
		LD_PRELOAD="$BIN/libcbfirst.so $PRELOAD" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
	pid=$!
	for _ in $(seq 1 600); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	if kill -0 $pid 2>/dev/null; then
		kill -9 $pid; wait $pid 2>/dev/null
		cat "$tmp/$name.err"
		fail "$name hangs under the preload (natively it exited $nrc)"
	fi
	wait $pid
	rc=$?
	[ $rc -eq $nrc ] || { cat "$tmp/$name.err"; fail "$name: exit status $rc under the preload, natively $nrc"; }
	[ $nrc -eq 0 ] || { cat "$tmp/$name.native.err"; fail "$name exited $nrc natively"; }
	for s in out err; do
		cmp -s "$tmp/$name.native.$s" "$tmp/$name.$s" ||
			{ diff "$tmp/$name.native.$s" "$tmp/$name.$s" | head -20; fail "$name: std$s differs from the native run"; }
	done
}

# ------------------------------------------------------------------ csound
cat >"$tmp/sine.csd" <<'EOF'
<CsoundSynthesizer>
<CsOptions>
-odac -+rtaudio=jack -b 512 -B 4096 -d -m0
</CsOptions>
<CsInstruments>
sr = 48000
ksmps = 64
nchnls = 2
0dbfs = 1
instr 1
a1 oscili 0.1, 440
outs a1, a1
endin
</CsInstruments>
<CsScore>
i 1 0 2
</CsScore>
</CsoundSynthesizer>
EOF
run_same csound csound "$tmp/sine.csd"
grep -q "overall amps:.*0\.10000" "$tmp/csound.err" || { cat "$tmp/csound.err"; fail "csound did not play the sine"; }
f=$(one_profile "$tmp/csound") || exit 1
check_py "$f" "$tmp/csound.cnt" <<'PY' || exit 1
from audiochk import *
from cbcount import Counts
p = load_audio(sys.argv[1])
c = Counts(sys.argv[2])
s = one_source(p, "jack")
info("csound violations:" + describe_violations(p, source_violations(p, s)))
eq("csound: callbacks (the wrapper counted %d)" % c.callbacks, s.get("count"), c.callbacks)
# rtjack's process callback tries its buffer's mutex once a cycle (it never waits).
eq("csound: pthread_mutex_trylock by the callback, once a cycle", sum(v.get("count", 0)
   for v in source_violations(p, s) if v.get("call") == "pthread_mutex_trylock"), c.callbacks)
ok(s.get("name", "").startswith("csound"), "csound's JACK client: source named %r" % s.get("name"))
expect_source(s, rate=48000, frames=512, deadline_ns=10666666)
ok(s.get("count", 0) >= 150, "csound: %s callbacks for 2 s of score (expected at least 150)" % s.get("count"))
info("csound: %d callbacks, mean %d ns, %d allocations in them" % (s.get("count", 0), s.get("mean_ns", 0), s.get("allocs", 0)))
done()
PY
note "csound: $(grep -o 'overall amps:.*' "$tmp/csound.err" | head -1)"

# ------------------------------------------------------------------ aplay
mkdir -p "$tmp/home"
cat >"$tmp/home/.asoundrc" <<'EOF'
pcm.apjack {
	type plug
	slave.pcm {
		type jack
		playback_ports { 0 system:playback_1 1 system:playback_2 }
	}
}
EOF
python3 - "$tmp/tone.wav" <<'PY'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(2); w.setsampwidth(2); w.setframerate(48000)
w.writeframes(b"".join(struct.pack("<hh", v, v) for v in
                       (int(3000 * math.sin(2 * math.pi * 440 * i / 48000)) for i in range(96000))))
w.close()
PY
HOME=$tmp/home run_same aplay aplay -D apjack "$tmp/tone.wav"
f=$(one_profile "$tmp/aplay") || exit 1
check_py "$f" "$tmp/aplay.cnt" <<'PY' || exit 1
from audiochk import *
from cbcount import Counts
p = load_audio(sys.argv[1])
c = Counts(sys.argv[2])
s = one_source(p, "jack")
info("aplay violations:" + describe_violations(p, violations(p)))
eq("aplay: JACK callbacks (the wrapper counted %d)" % c.callbacks, s.get("count"), c.callbacks)
# The jack PCM plugin's callback tries its mutex once a cycle and wakes aplay's poll
# with a write() when a period's room is free (what libasound's plugin does, not aplay).
eq("aplay: pthread_mutex_trylock by the plugin's callback, once a cycle", sum(v.get("count", 0)
   for v in source_violations(p, s) if v.get("call") == "pthread_mutex_trylock"), c.callbacks)
ok(any(v.get("call") == "write" for v in source_violations(p, s)), "aplay: no write() waking aplay from the plugin's callback")
# That callback runs on JACK's thread, not inside one of the profiler's ALSA wrappers:
# its calls are the JACK source's, not libasound's (libaudioprof(7), "ALSA").
ok(not [v for v in source_violations(p, s) if v.get("library")],
   "aplay: the jack plugin's callback calls recorded as a library's:" +
   describe_violations(p, [v for v in source_violations(p, s) if v.get("library")]))
ok(s.get("name", "").startswith("aplay"), "the jack plugin's client: source named %r" % s.get("name"))
expect_source(s, rate=48000, frames=512, deadline_ns=10666666)
ok(s.get("count", 0) >= 188, "aplay: %s JACK callbacks played 96000 frames (at least 188 needed)" % s.get("count"))
a = one_source(p, "alsa", "apjack")
ok(a.get("count", 0) >= 1, "aplay's own ALSA source counted no period")
# aplay writes whole (padded) periods, then drains: the cycle ending in drain is its
# teardown, discarded; no other.
eq("aplay's ALSA source: discarded cycles (the one ending in drain)", a.get("discarded"), 1)
info("aplay: %d JACK callbacks, %d ALSA periods" % (s.get("count", 0), a.get("count", 0)))
done()
PY
echo "PASS"
