#!/usr/bin/env bash
# t_dsp_demo.sh - dsp_demo on the null and freewheel backends: the command line (--help,
# usage errors exit 2, bad WAV input exits 3), exact cycle and frame counts (cycles =
# ceil(rate * duration / period), frames = cycles * period), a valid output WAV of exactly
# that many frames, the EQ's gain and the analyser's peak on a 6 kHz tone, every --inject
# kind counted exactly, --inject spin:US in every cycle and inside the callback's timing
# (every cycle lasts at least US: a lower bound, not a timing expectation); then under
# the preload: a clean run has no allocation with dsp_process on its stack, --inject
# alloc / leak are found at inject_alloc / inject_leak with exactly the injected number
# of blocks, and every cycle of --inject spin:US is at least US long in the profile.
. "$(dirname "$0")/lib/common.sh"
make_tmp

need_dsp_demo

# field NAME FILE: the value of NAME=... in dsp_demo's summary line in FILE
field() { grep '^dsp_demo: backend=' "$2" | grep -o " $1=[^ ]*" | head -n 1 | cut -d= -f2; }
# run_demo NAME ARGS...: run dsp_demo, stderr in $tmp/NAME.err; fail unless it exits 0
# and prints one summary line
run_demo() {
	local name=$1
	shift
	"$DSP" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	local rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/$name.err"; fail "dsp_demo $* exited $rc"; }
	[ "$(grep -c '^dsp_demo: backend=' "$tmp/$name.err")" -eq 1 ] ||
		{ cat "$tmp/$name.err"; fail "dsp_demo $*: no summary line"; }
	[ -s "$tmp/$name.out" ] && fail "dsp_demo $*: wrote to stdout"
	return 0
}
# expect NAME FIELD VALUE
expect() {
	local got
	got=$(field "$2" "$tmp/$1.err")
	[ "$got" = "$3" ] || { cat "$tmp/$1.err"; fail "$1: $2=$got, expected $3"; }
}

# --- command line ---------------------------------------------------------------------
"$DSP" --help >"$tmp/help.out" 2>"$tmp/help.err" || fail "--help exited $?"
grep -q '^Usage: dsp_demo' "$tmp/help.out" || fail "--help: no usage on stdout"
[ -s "$tmp/help.err" ] && fail "--help wrote to stderr"
for bad in "--bogus" "--rate 5" "--period x" "--duration -1" "--inject nope" \
	   "--inject alloc:0" "--inject spin" "--inject spin:0" "--inject spin:1000001" \
	   "--backend pulse" "--device x" "stray"; do
	# shellcheck disable=SC2086
	"$DSP" $bad >"$tmp/bad.out" 2>"$tmp/bad.err"
	rc=$?
	[ $rc -eq 2 ] || fail "dsp_demo $bad exited $rc, expected 2"
	grep -q '^dsp_demo: ' "$tmp/bad.err" || fail "dsp_demo $bad: no message on stderr"
	[ -s "$tmp/bad.out" ] && fail "dsp_demo $bad wrote to stdout"
done
printf 'not a wav file' >"$tmp/bad.wav"
"$DSP" --input "$tmp/bad.wav" 2>"$tmp/badwav.err"
rc=$?
[ $rc -eq 3 ] || fail "bad WAV input exited $rc, expected 3"
grep -q "bad.wav: not a WAV file" "$tmp/badwav.err" || { cat "$tmp/badwav.err"; fail "bad WAV: unclear message"; }
note "command line ok"

# --- null backend, 1 s, WAV output ------------------------------------------------------
run_demo null --backend null --duration 1 --output "$tmp/null.wav"
expect null backend null
expect null cycles 94                         # ceil(48000 / 512)
expect null frames $((94 * 512))
expect null written $((94 * 512))
expect null injected 0
expect null dropped 0
python3 - "$tmp/null.wav" $((94 * 512)) <<'PY' || fail "null.wav is not the expected WAV"
import math, struct, sys, wave
path, frames = sys.argv[1], int(sys.argv[2])
w = wave.open(path)
assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 48000), w.getparams()
assert w.getnframes() == frames, (w.getnframes(), frames)
import os
assert os.path.getsize(path) == 44 + frames * 4, os.path.getsize(path)
data = w.readframes(frames)
s = struct.unpack("<%dh" % (2 * frames), data)
rms = math.sqrt(sum(x * x for x in s) / len(s)) / 32768
peak = max(abs(x) for x in s)
print("  null.wav: %d frames, rms %.3f, peak %d" % (frames, rms, peak))
assert 0.05 < rms < 0.5 and peak < 32767, (rms, peak)
PY
note "null backend ok"

# --- freewheel: other rates and periods -----------------------------------------------
run_demo fw --backend freewheel --duration 2
expect fw cycles 188
expect fw frames $((188 * 512))
run_demo fw2 --backend freewheel --rate 44100 --period 256 --duration 1 --output "$tmp/fw2.wav"
expect fw2 rate 44100
expect fw2 cycles 173                         # ceil(44100 / 256)
expect fw2 written $((173 * 256))
python3 -c "import wave,sys; w=wave.open(sys.argv[1]); assert w.getnframes()==173*256 and w.getframerate()==44100" \
	"$tmp/fw2.wav" || fail "fw2.wav has the wrong size or rate"
note "freewheel ok"

# --- processing: a 6 kHz float tone through the EQ ---------------------------------------
python3 - "$tmp/sine.wav" <<'PY'
import math, struct, sys
rate, f, amp, n = 48000, 6000.0, 0.5, 48000
d = b"".join(struct.pack("<ff", v, v) for v in
             (amp * math.sin(2 * math.pi * f * i / rate) for i in range(n)))
with open(sys.argv[1], "wb") as o:
    o.write(b"RIFF" + struct.pack("<I", 4 + 26 + 8 + len(d)) + b"WAVE" + b"fmt " +
            struct.pack("<IHHIIHHH", 18, 3, 2, rate, rate * 8, 8, 32, 0) +
            b"data" + struct.pack("<I", len(d)) + d)
PY
run_demo sine --backend freewheel --input "$tmp/sine.wav" --output "$tmp/sine_out.wav"
expect sine cycles 94                         # the input's length
expect sine peak_hz 6000.0                    # bin 256 of the 2048-point FFT
python3 - "$tmp/sine_out.wav" <<'PY' || fail "EQ gain at 6 kHz is wrong"
# The measured gain against the 8 RBJ bands of eq.c evaluated here independently. At
# 6 kHz the band the control thread moves (1 kHz) contributes under 0.05 dB.
import cmath, math, struct, sys
raw = open(sys.argv[1], "rb").read()
assert raw[20:22] == b"\x03\x00", "float input must give float output"
i = raw.index(b"data")
n = struct.unpack("<I", raw[i + 4:i + 8])[0]
left = struct.unpack_from("<%df" % (n // 4), raw, i + 8)[0::2][4800:]
measured = 20 * math.log10(math.sqrt(sum(x * x for x in left) / len(left)) / (0.5 / math.sqrt(2)))
rate, f = 48000, 6000.0
bands = [("ls", 80, 3, .707), ("pk", 160, -2, 1), ("pk", 400, 1.5, 1.2), ("pk", 1000, -3, 1.4),
         ("pk", 2500, 2, 1), ("pk", 5000, -1.5, 1.2), ("pk", 9000, 1, .9), ("hs", 12000, -2, .707)]
def gain(t, fc, g, q):
    A = 10 ** (g / 40); w0 = 2 * math.pi * fc / rate; c = math.cos(w0)
    al = math.sin(w0) / (2 * q); sa = 2 * math.sqrt(A) * al
    if t == "pk":
        b, a = [1 + al * A, -2 * c, 1 - al * A], [1 + al / A, -2 * c, 1 - al / A]
    elif t == "ls":
        b = [A * ((A + 1) - (A - 1) * c + sa), 2 * A * ((A - 1) - (A + 1) * c), A * ((A + 1) - (A - 1) * c - sa)]
        a = [(A + 1) + (A - 1) * c + sa, -2 * ((A - 1) + (A + 1) * c), (A + 1) + (A - 1) * c - sa]
    else:
        b = [A * ((A + 1) + (A - 1) * c + sa), -2 * A * ((A - 1) + (A + 1) * c), A * ((A + 1) + (A - 1) * c - sa)]
        a = [(A + 1) - (A - 1) * c + sa, 2 * ((A - 1) - (A + 1) * c), (A + 1) - (A - 1) * c - sa]
    z = cmath.exp(-2j * math.pi * f / rate)
    return abs((b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z))
expected = 20 * math.log10(math.prod(gain(*b) for b in bands))
print("  EQ at 6 kHz: measured %.3f dB, expected %.3f dB" % (measured, expected))
assert abs(measured - expected) < 0.05
PY
note "EQ and analyser ok"

# --- every fault kind, counted exactly -------------------------------------------------
for kind in alloc free lock sleep io leak overrun; do
	run_demo "inj_$kind" --backend freewheel --duration 1 --inject "$kind:10"
	expect "inj_$kind" inject "$kind"
	expect "inj_$kind" every 10
	expect "inj_$kind" spin_us 0
	expect "inj_$kind" injected 9             # cycles 10, 20, ..., 90 of 94
	expect "inj_$kind" missed 0
done
ov=$(field overruns "$tmp/inj_overrun.err")
[ "$ov" -ge 9 ] || fail "--inject overrun: overruns=$ov, expected at least 9"
run_demo inj_default --backend freewheel --duration 3 --inject alloc
expect inj_default every 100
expect inj_default injected 2                 # 282 cycles
note "--inject counts ok"

# --- spin: a busy wait in every cycle, inside the callback's own timing ----------------
# dsp_demo times each cycle with the clock the wait reads, so the mean cannot be below
# the wait: a bound that holds on any machine, however loaded (a faster one is no error).
SPIN_US=2000
run_demo spin --backend freewheel --duration 1 --inject "spin:$SPIN_US"
expect spin inject spin
expect spin every 1
expect spin spin_us "$SPIN_US"
expect spin cycles 94
expect spin injected 94                       # one per cycle
expect spin missed 0
awk -v m="$(field mean_callback_ms "$tmp/spin.err")" -v s="$SPIN_US" 'BEGIN { exit !(m * 1000 >= s) }' ||
	{ cat "$tmp/spin.err"; fail "--inject spin:$SPIN_US: mean_callback_ms below the wait"; }
note "--inject spin ok"

# --- under the preload ------------------------------------------------------------------
[ -f "$PRELOAD" ] || { note "preload not built: profile checks skipped"; echo ok; exit 0; }
profile_of() {   # profile_of NAME ARGS...: run under the preload, print the profile path
	local name=$1
	shift
	mkdir -p "$tmp/p_$name"
	env AUDIOPROF_OUT="$tmp/p_$name/p.%p.json" LD_PRELOAD="$PRELOAD" "$DSP" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null ||
		{ cat "$tmp/$name.err" >&2; echo "FAIL: dsp_demo $* exited $? under the preload" >&2; exit 1; }
	one_profile "$tmp/p_$name"
}

f=$(profile_of clean --backend null --duration 1 --output "$tmp/clean.wav") || exit 1
expect clean cycles 94
check_py "$f" <<'PY' || fail "clean run: allocations in the callback"
p = load(sys.argv[1])
ok(len(p.get("pps", [])) > 0, "no pps at all")
bad = pps_with(p, "dsp_process")
ok(not bad, "%d pp(s) allocate with dsp_process on the stack:%s" % (
   len(bad), "".join("\n      " + describe(p, pp, 8) for pp in bad[:3])))
done()
PY

for kind in alloc leak; do
	f=$(profile_of "p$kind" --backend null --duration 1 --inject "$kind:10") || exit 1
	n=$(field injected "$tmp/p$kind.err")
	[ "$n" = 9 ] || fail "--inject $kind under the preload: injected=$n, expected 9"
	check_py "$f" "$kind" "$n" <<'PY' || fail "--inject $kind: not found at inject_$kind"
kind, n = sys.argv[2], int(sys.argv[3])
p = load(sys.argv[1])
size = {"alloc": 256, "leak": 64}[kind]
live = {"alloc": 0, "leak": n}[kind]          # alloc: freed by the control thread
pp = expect_pp(p, "inject_" + kind, tbk=n, tb=n * size, ebk=live, eb=live * size)
if pp is not None:
    fn = funcs(p, pp)
    eq("inject_%s: frame 0" % kind, fn[0], "malloc")
    eq("inject_%s: frame 1" % kind, fn[1], "inject_" + kind)
    ok("dsp_process" in fn, "inject_%s: no dsp_process frame: %s" % (kind, fn[:8]))
# nothing else allocates from the callback
others = [q for q in pps_with(p, "dsp_process") if q is not pp]
ok(not others, "%d other pp(s) with dsp_process:%s" % (
   len(others), "".join("\n      " + describe(p, q, 8) for q in others[:3])))
check_timed(p, "alloc", n)
done()
PY
done

# --inject free: the callback frees a block the control thread allocated. Like every
# other unsafe call, each allocation and free in the callback is timed: a total and a
# longest time inside the underlying call, no longer than the callback's own time.
f=$(profile_of pfree --backend null --duration 1 --inject "free:10") || exit 1
n=$(field injected "$tmp/pfree.err")
[ "$n" = 9 ] || fail "--inject free under the preload: injected=$n, expected 9"
check_py "$f" "$n" <<'PY' || fail "--inject free: the frees in the callback are not timed"
p = load(sys.argv[1])
check_timed(p, "free", int(sys.argv[2]))
done()
PY

# spin: every one of the region's cycles holds the wait. The profile converts its clock
# ticks at a ratio measured to a few parts per million (clock.h): 1 % of slack.
f=$(profile_of pspin --backend null --duration 1 --inject "spin:$SPIN_US") || exit 1
expect pspin injected 94
check_py "$f" "$SPIN_US" <<'PY' || fail "--inject spin: the wait is not in the profile's cycles"
spin_ns = int(sys.argv[2]) * 1000
p = load(sys.argv[1])
cbs = [c for c in p["audioprof"].get("callbacks", []) if c.get("name") == "dsp_demo"]
if ok(len(cbs) == 1, "one callback source \"dsp_demo\" expected, got %d" % len(cbs)):
    c = cbs[0]
    eq("region dsp_demo: count", c["count"], 94)
    ok(c["min_ns"] >= 0.99 * spin_ns, "region dsp_demo: min_ns %d, below the %d ns wait"
       % (c["min_ns"], spin_ns))
done()
PY
note "profiles ok"
echo ok
