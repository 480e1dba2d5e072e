#!/usr/bin/env bash
# t_dsp_demo_alsa.sh - dsp_demo --backend alsa --device null (ALSA's null PCM: no sound
# card, unpaced): exact cycle and frame counts with the period ALSA granted, a WAV of
# exactly those frames, a period ALSA has to negotiate; under the preload a clean run has
# no allocation with dsp_process on its stack and --inject io is counted exactly.
. "$(dirname "$0")/lib/common.sh"
make_tmp

need_dsp_demo

field() { grep '^dsp_demo: backend=' "$2" | grep -o " $1=[^ ]*" | head -n 1 | cut -d= -f2; }

"$DSP" --backend alsa --device null --duration 0.01 >/dev/null 2>"$tmp/probe.err"
rc=$?
if [ $rc -ne 0 ]; then
	cat "$tmp/probe.err"
	grep -q "cannot open PCM" "$tmp/probe.err" && skip "ALSA's null PCM is not available here"
	fail "dsp_demo --backend alsa --device null exited $rc"
fi

# run_alsa NAME ARGS...: PRE=1 runs it under the preload
run_alsa() {
	local name=$1 rc
	shift
	mkdir -p "$tmp/p_$name"
	if [ "${PRE:-0}" = 1 ]; then
		env AUDIOPROF_OUT="$tmp/p_$name/p.%p.json" LD_PRELOAD="$PRELOAD" "$DSP" "$@" \
			>"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	else
		"$DSP" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	fi
	rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/$name.err"; fail "dsp_demo $* exited $rc"; }
	grep -q '^dsp_demo: backend=alsa ' "$tmp/$name.err" || { cat "$tmp/$name.err"; fail "$name: no summary"; }
}
# check_counts NAME RATE: cycles = ceil(rate / period) for 1 s, frames = cycles * period
check_counts() {
	local c f p r
	c=$(field cycles "$tmp/$1.err") f=$(field frames "$tmp/$1.err")
	p=$(field period "$tmp/$1.err") r=$(field rate "$tmp/$1.err")
	[ "$r" = "$2" ] || fail "$1: rate $r, expected $2"
	[ "$c" -eq $(((r + p - 1) / p)) ] || fail "$1: $c cycles for 1 s at $r Hz, period $p"
	[ "$f" -eq $((c * p)) ] || fail "$1: frames $f != cycles $c * period $p"
	note "$1: $c cycles of $p frames at $r Hz"
}

run_alsa plain --backend alsa --device null --duration 1 --output "$tmp/alsa.wav"
check_counts plain 48000
[ "$(field written "$tmp/plain.err")" = "$(field frames "$tmp/plain.err")" ] || fail "plain: WAV lacks frames"
python3 -c "import wave,sys; w=wave.open(sys.argv[1]); assert w.getnchannels()==2 and w.getframerate()==48000 and w.getnframes()==int(sys.argv[2])" \
	"$tmp/alsa.wav" "$(field frames "$tmp/plain.err")" || fail "alsa.wav is wrong"

run_alsa odd --backend alsa --device null --duration 1 --rate 44100 --period 300
check_counts odd 44100

[ -f "$PRELOAD" ] || { note "preload not built: profile checks skipped"; echo ok; exit 0; }
PRE=1 run_alsa clean --backend alsa --device null --duration 1
f=$(one_profile "$tmp/p_clean") || exit 1
check_py "$f" <<'PY' || fail "clean ALSA run: allocations in the callback"
p = load(sys.argv[1])
bad = pps_with(p, "dsp_process")
ok(not bad, "%d pp(s) allocate with dsp_process on the stack:%s" % (
   len(bad), "".join("\n      " + describe(p, pp, 8) for pp in bad[:3])))
done()
PY
PRE=1 run_alsa io --backend alsa --device null --duration 1 --inject io:10
check_counts io 48000
n=$(field injected "$tmp/io.err") c=$(field cycles "$tmp/io.err")
[ "$n" -eq $((c / 10)) ] || fail "io: injected=$n, expected $((c / 10))"
echo ok
