#!/usr/bin/env bash
# t_real_sox.sh - sox generates and processes audio identically with and without the
# profiler (same output files, byte for byte; same exit status) and yields valid profiles.
. "$(dirname "$0")/lib/common.sh"
need_preload
command -v sox >/dev/null || skip "sox not installed"
make_tmp

mkdir "$tmp/n" "$tmp/p"
for side in n p; do
	if [ $side = n ]; then run=(env); else run=(env AUDIOPROF_OUT="$tmp/prof/p.%p.json" LD_PRELOAD="$PRELOAD"); fi
	mkdir -p "$tmp/prof"
	# -R: repeatable (fixed dither seed), so runs are byte-identical.
	"${run[@]}" sox -R -n -r 48000 -b 16 -c 2 "$tmp/$side/tone.wav" synth 1 sine 440 sine 660 gain -3 \
		>"$tmp/$side.out1" 2>"$tmp/$side.err1"
	echo $? >"$tmp/$side.rc1"
	"${run[@]}" sox -R "$tmp/$side/tone.wav" "$tmp/$side/fx.wav" reverb 50 highpass 200 rate 44100 \
		>"$tmp/$side.out2" 2>"$tmp/$side.err2"
	echo $? >"$tmp/$side.rc2"
	"${run[@]}" sox -R "$tmp/$side/missing.wav" "$tmp/$side/x.wav" >"$tmp/$side.out3" 2>"$tmp/$side.err3"
	echo $? >"$tmp/$side.rc3"
done
for k in 1 2 3; do
	cmp -s "$tmp/n.rc$k" "$tmp/p.rc$k" || fail "sox run $k: status $(cat "$tmp/n.rc$k") natively, $(cat "$tmp/p.rc$k") under the preload"
	cmp -s "$tmp/n.out$k" "$tmp/p.out$k" || fail "sox run $k: stdout differs"
	# stderr names the (different) output directories: compare it with them masked.
	diff <(sed "s#$tmp/n#D#g" "$tmp/n.err$k") <(sed "s#$tmp/p#D#g" "$tmp/p.err$k") || fail "sox run $k: stderr differs"
done
[ "$(cat "$tmp/n.rc1")" -eq 0 ] && [ "$(cat "$tmp/n.rc2")" -eq 0 ] || fail "sox fails natively"
for w in tone.wav fx.wav; do
	a=$(md5sum <"$tmp/n/$w") b=$(md5sum <"$tmp/p/$w")
	echo "$w: $a / $b"
	[ "$a" = "$b" ] || fail "$w differs with the profiler"
done
check_profiles "$tmp/prof" 3 || exit 1
echo "ok"
