#!/usr/bin/env bash
# t_real_sox_play.sh - sox's `play`, a real program from Debian, on ALSA's null PCM (no
# sound card, unpaced, so the run is the same every time): a 1 s, 48 kHz WAV, natively, under
# the preload, and under the test's own counting wrapper (tests/progs/libcbcount.c,
# alone: the profiler's ALSA wrappers call libasound directly, past it), which logs the
# PCM calls play makes (with the frames of each write, the period, rate and buffer
# granted) and the allocations, frees, freads and locks between them. The test replays
# that log by the documented cycle model (libaudioprof(7), "ALSA"; cbcount.py's
# alsa_cycles) and expects the profile to hold exactly what the model says:
#   - exit status, stdout and stderr exactly as natively;
#   - one ALSA source, "null", with the model's cycles (play's writes minus 2: a
#     blocking writer has no cycle before its first write; its pad write, after its
#     teardown, and the cycle ending in drain are discarded) and discarded cycles (2),
#     its frames and deadline those of the last counted cycle's write;
#   - each counted call (malloc, calloc, realloc, free, fread, pthread_mutex_lock, ...)
#     charged to the program as often as the model charges it (its discarded cycles'
#     calls taken back);
#   - play reads its input between two writes: one fread (lsx_readbuf < sox_read), one
#     realloc (lsx_realloc < sox_read) and one free (< sox_read) per 4096-frame buffer
#     (sox's 8192 samples), all but the first, read before the first write: 11 for
#     48000 frames.
# Skips when sox's play, its ALSA format or ALSA's null PCM is missing.
. "$(dirname "$0")/lib/common.sh"
need_preload
make_tmp
command -v play >/dev/null 2>&1 || skip "sox's play not installed (sox)"
ls /usr/lib/*/sox/libsox_fmt_alsa.so >/dev/null 2>&1 || skip "sox's ALSA format missing (libsox-fmt-alsa)"
command -v aplay >/dev/null 2>&1 || skip "aplay not installed (alsa-utils)"
aplay -q -D null -d 1 /dev/zero >/dev/null 2>&1 </dev/null || skip "ALSA's null PCM is not available here"
build_prog libcbcount
export AUDIODRIVER=alsa AUDIODEV=null

python3 - "$tmp/tone.wav" <<'PY' || fail "cannot write the WAV"
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(2); w.setsampwidth(2); w.setframerate(48000)
w.writeframes(b"".join(struct.pack("<hh", v, v) for v in
                       (int(3000 * math.sin(2 * math.pi * 440 * i / 48000)) for i in range(48000))))
w.close()
PY
same_behaviour "$tmp/prof" play -q "$tmp/tone.wav" || fail "play behaves differently under the preload"
[ "$last_status" -eq 0 ] || { cat "$tmp/native.err"; fail "play exited $last_status"; }
CBCOUNT_OUT=$tmp/play.cnt LD_PRELOAD=$BIN/libcbcount.so play -q "$tmp/tone.wav" </dev/null ||
	fail "play under the counting wrapper"
f=$(one_profile "$tmp/prof") || exit 1
check_py "$f" "$tmp/play.cnt" <<'PY' || { note "log: $(grep -c '^ev ' "$tmp/play.cnt") entries in $tmp/play.cnt"; exit 1; }
from audiochk import *
from cbcount import Counts
p = load_audio(sys.argv[1])
c = Counts(sys.argv[2])
s = one_source(p, "alsa", "null")
eq("the wrapper's log: entries lost", c.ev_lost, 0)
ok(c.alsa_writes > 0 and c.alsa_frames >= 48000, "play wrote %d frames in %d writes" % (c.alsa_frames, c.alsa_writes))
ms = [m for m in c.alsa_cycles() if m.src]
eq("play: PCMs with a source (the wrapper's log)", len(ms), 1)
m = ms[0]
# The model on the wrapper's log, against the profile.
expect_source(s, count=m.count, discarded=m.discarded, rate=m.rate, frames=m.frames,
              deadline_ns=m.deadline_ns())
# ... and against what the documentation says of sox: w - 2 cycles, 2 discarded.
eq("play: cycles (the wrapper counted %d writes, sox pads the last)" % c.alsa_writes, m.count, c.alsa_writes - 2)
eq("play: discarded cycles (the pad's and the one ending in drain)", m.discarded, 2)
ok(m.rate == 48000 and m.period > 0, "play: period %d, rate %d" % (m.period, m.rate))
vs = [v for v in source_violations(p, s) if not v.get("library")]
def charged(call):
    return sum(v.get("count", 0) for v in vs if v.get("call") == call)
for call in ("malloc", "calloc", "realloc", "free", "memalign", "posix_memalign",
             "aligned_alloc", "fread", "pthread_mutex_lock"):
    eq("play: %s charged (the model on the wrapper's log)" % call, charged(call), m.calls(call))
ok(m.calls("free", "taken_back") > 0, "play: frees in the discarded cycles (its teardown): %s" % m.describe("taken_back"))
def at(call, *names):
    return sum(v.get("count", 0) for v in vs if v.get("call") == call and
               all(any(name_matches(f, n) for f in v_funcs(p, v)) for n in names))
reads = (48000 * 2 + 8191) // 8192 - 1   # buffers of 8192 samples, but the first
eq("play: freads in sox_read (the model: %d)" % m.calls("fread"), at("fread", "lsx_readbuf", "sox_read"), m.calls("fread"))
eq("play: freads in sox_read (the data)", m.calls("fread"), reads)
eq("play: reallocs in sox_read", at("realloc", "lsx_realloc", "sox_read"), reads)
eq("play: frees in sox_read", at("free", "sox_read"), reads)
bad = [v for v in vs if any(t in f for f in v_funcs(p, v) for t in (
    "sox_delete_effects", "sox_close", "lsx_close", "fclose", "stop_write"))]
ok(not bad, "play: teardown calls charged:%s" % describe_violations(p, bad))
info("play: %d cycles (%d discarded), deadline %d frames; charged: %s; taken back: %s" % (
     m.count, m.discarded, m.frames, m.describe(), m.describe("taken_back")))
done()
PY
echo "PASS"
