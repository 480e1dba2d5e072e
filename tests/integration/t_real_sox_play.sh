#!/usr/bin/env bash
# t_real_sox_play.sh - sox's `play` (issue 12's matrix) on ALSA's null PCM (no sound
# card, unpaced, so the run is the same every time): a 1 s, 48 kHz WAV, natively, under
# the preload, and under the test's own counting wrapper (tests/progs/libcbcount.c,
# alone: the profiler's ALSA wrappers call libasound directly, past it), which counts
# the snd_pcm_writei calls and, between a write's return and the next write, the
# program's allocations, frees and freads.
#   - exit status, stdout and stderr exactly as natively;
#   - one ALSA source, "null", with as many cycles as play made writes, its deadline the
#     period ALSA granted;
#   - play reads its input between two writes: one fread (lsx_readbuf < sox_read), one
#     realloc (lsx_realloc < sox_read) and one free (< sox_read) per 4096-frame buffer
#     (sox's 8192 samples), all but the first read, which comes before the first write
#     (the first cycle is not checked today: issue 12 item 2); each count equal to the
#     wrapper's, and 11 for 48000 frames.
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
check_py "$f" "$tmp/play.cnt" <<'PY' || { note "counts: $(tr '\n' ' ' <"$tmp/play.cnt")"; exit 1; }
from audiochk import *
from cbcount import Counts
p = load_audio(sys.argv[1])
c = Counts(sys.argv[2])
s = one_source(p, "alsa", "null")
ok(c.alsa_writes > 0 and c.alsa_frames >= 48000, "play wrote %d frames in %d writes" % (c.alsa_frames, c.alsa_writes))
eq("play: cycles (the wrapper counted %d writes)" % c.alsa_writes, s.get("count"), c.alsa_writes)
ok(s.get("rate") == 48000 and s.get("frames", 0) > 0, "play: period %s, rate %s" % (s.get("frames"), s.get("rate")))
expect_source(s, deadline_ns=s.get("frames", 0) * 1000000000 // 48000)
vs = source_violations(p, s)
def at(call, *names):
    return sum(v.get("count", 0) for v in vs if v.get("call") == call and
               all(any(name_matches(f, n) for f in v_funcs(p, v)) for n in names))
reads = (48000 * 2 + 8191) // 8192 - 1   # buffers of 8192 samples, but the first
eq("play: freads in sox_read (the wrapper: %d)" % c.calls("fread"), at("fread", "lsx_readbuf", "sox_read"), c.calls("fread"))
eq("play: freads in sox_read (the data)", c.calls("fread"), reads)
eq("play: reallocs in sox_read", at("realloc", "lsx_realloc", "sox_read"), reads)
eq("play: reallocs (the wrapper)", sum(v.get("count", 0) for v in vs if v.get("call") == "realloc"), c.calls("realloc"))
eq("play: frees in sox_read", at("free", "sox_read"), reads)
frees = sum(v.get("count", 0) for v in vs if v.get("call") == "free")
ok(frees >= c.calls("free"), "play: %d frees charged, the wrapper counted %d in cycles" % (frees, c.calls("free")))
info("play: %d cycles of %d frames; %d frees charged, %d by the wrapper in cycles (after the last write: %s)" % (
     s.get("count", 0), s.get("frames", 0), frees, c.calls("free"), c.describe("teardown")))
info("play: before the first write (not checked today): %s" % c.describe("first"))
done()
PY
echo "PASS"
