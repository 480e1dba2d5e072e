#!/usr/bin/env bash
# t_dsp_demo_jack.sh - dsp_demo --backend jack against a private jackd running the dummy
# backend (48 kHz, 512 frames: ~93.75 cycles/s, paced by the server): the client runs,
# takes the server's rate and period, processes cycles (a broad lower bound, never a
# timing), picks the server with JACK_DEFAULT_SERVER or --device; under the preload a
# clean run has no allocation with dsp_process on its stack and --inject alloc is found
# at inject_alloc with exactly the injected count, and CPU samples of 6 ms of busy work
# per cycle (--inject spin) are the JACK callback's, in inject_spin, and counted in the
# slow cycles kept. Skips when jackd is not installed.
. "$(dirname "$0")/lib/common.sh"
make_tmp

DSP=$ROOT/dsp_demo/dsp_demo
command -v jackd >/dev/null 2>&1 || skip "jackd not installed (Debian package jackd2)"
need_dsp_demo

field() { grep '^dsp_demo: backend=' "$2" | grep -o " $1=[^ ]*" | head -n 1 | cut -d= -f2; }

# A private server, stopped (by its pid) on exit whatever happens.
server=aptest_$$_$RANDOM
jackd_pid=
stop_jackd() {
	if [ -n "$jackd_pid" ] && kill -0 "$jackd_pid" 2>/dev/null; then
		kill "$jackd_pid" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$jackd_pid" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$jackd_pid" 2>/dev/null
		wait "$jackd_pid" 2>/dev/null
	fi
	jackd_pid=
}
trap 'stop_jackd; rm -rf "$tmp"' EXIT
JACK_NO_AUDIO_RESERVATION=1 jackd -n "$server" --no-realtime -d dummy -r 48000 -p 512 \
	>"$tmp/jackd.log" 2>&1 </dev/null &
jackd_pid=$!
ready=0
for _ in $(seq 1 50); do
	if ! kill -0 "$jackd_pid" 2>/dev/null; then
		cat "$tmp/jackd.log"
		skip "jackd could not start here (see its log above)"
	fi
	if command -v jack_wait >/dev/null 2>&1; then
		# -c prints "running" or "not running" and exits 0 either way
		[ "$(jack_wait -s "$server" -c 2>/dev/null)" = running ] && { ready=1; break; }
	elif jack_lsp -s "$server" >/dev/null 2>&1; then
		ready=1; break
	fi
	sleep 0.2
done
[ $ready = 1 ] || { cat "$tmp/jackd.log"; fail "jackd '$server' not ready after 10 s"; }
note "jackd '$server' (pid $jackd_pid) is up"

# run_jack NAME [env VAR=...] ARGS...: dsp_demo --backend jack, optionally under the
# preload (PRE=1), summary in $tmp/NAME.err
run_jack() {
	local name=$1 rc
	shift
	mkdir -p "$tmp/p_$name"
	if [ "${PRE:-0}" = 1 ]; then
		env AUDIOPROF_OUT="$tmp/p_$name/p.%p.json" LD_PRELOAD="$PRELOAD" "$@" \
			>"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	else
		"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	fi
	rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/$name.err"; fail "$* exited $rc"; }
	grep -q '^dsp_demo: backend=jack ' "$tmp/$name.err" || { cat "$tmp/$name.err"; fail "$name: no summary"; }
}
check_cycles() {   # check_cycles NAME MIN
	local c f p
	c=$(field cycles "$tmp/$1.err") f=$(field frames "$tmp/$1.err") p=$(field period "$tmp/$1.err")
	[ "$(field rate "$tmp/$1.err")" = 48000 ] || fail "$1: not the server's rate: $(cat "$tmp/$1.err")"
	[ "$p" = 512 ] || fail "$1: not the server's period: $(cat "$tmp/$1.err")"
	[ "$c" -ge "$2" ] || fail "$1: only $c cycles processed, expected at least $2"
	[ "$f" -eq $((c * p)) ] || fail "$1: frames $f != cycles $c * period $p"
	note "$1: $c cycles"
}

# 2 s at ~93.75 cycles/s: 188 when the server keeps time; 50 is a floor, not a timing.
run_jack plain env JACK_DEFAULT_SERVER="$server" "$DSP" --backend jack --duration 2 \
	--output "$tmp/jack.wav"
check_cycles plain 50
[ "$(field written "$tmp/plain.err")" = "$(field frames "$tmp/plain.err")" ] ||
	fail "plain: the WAV lacks frames: $(cat "$tmp/plain.err")"
python3 -c "import wave,sys; w=wave.open(sys.argv[1]); assert w.getnchannels()==2 and w.getframerate()==48000 and w.getnframes()==int(sys.argv[2])" \
	"$tmp/jack.wav" "$(field frames "$tmp/plain.err")" || fail "jack.wav is wrong"

[ -f "$PRELOAD" ] || { note "preload not built: profile checks skipped"; echo ok; exit 0; }

PRE=1 run_jack clean "$DSP" --backend jack --device "$server" --duration 1
check_cycles clean 25
f=$(one_profile "$tmp/p_clean") || exit 1
check_py "$f" <<'PY' || fail "clean JACK run: allocations in the callback"
p = load(sys.argv[1])
bad = pps_with(p, "dsp_process")
ok(not bad, "%d pp(s) allocate with dsp_process on the stack:%s" % (
   len(bad), "".join("\n      " + describe(p, pp, 8) for pp in bad[:3])))
# dsp_demo marks no region with JACK: the profiler finds the process callback itself
# and times it against JACK's period.
jack = [c for c in p["audioprof"]["callbacks"] if c["api"] == "jack" and c["count"] > 0]
eq("timed JACK sources", len(jack), 1)
if jack:
    c = jack[0]
    eq("JACK deadline_ns", c["deadline_ns"], 10666666)
    ok(c["count"] >= 25, "JACK callbacks counted: %d" % c["count"])
    eq("JACK callback allocations", c["allocs"], 0)
done()
PY

PRE=1 run_jack alloc "$DSP" --backend jack --device "$server" --duration 1 --inject alloc:5
check_cycles alloc 25
n=$(field injected "$tmp/alloc.err")
c=$(field cycles "$tmp/alloc.err")
[ "$n" -eq $((c / 5)) ] || fail "alloc: injected=$n, expected cycles/5 = $((c / 5))"
f=$(one_profile "$tmp/p_alloc") || exit 1
check_py "$f" "$n" <<'PY' || fail "--inject alloc with JACK: not found at inject_alloc"
n = int(sys.argv[2])
p = load(sys.argv[1])
pp = expect_pp(p, "inject_alloc", tbk=n, tb=256 * n)
if pp is not None:
    fn = funcs(p, pp)
    ok("dsp_process" in fn and "jack_process" in fn,
       "inject_alloc: expected dsp_process and jack_process frames: %s" % fn[:8])
done()
PY

# CPU samples of the JACK process callback (on by default): with 6 ms of busy work in
# every cycle (--inject spin:6000, inject_spin) the callback's samples are the JACK
# source's, and most are in inject_spin (or the clock it reads) under dsp_process and
# jack_process.
PRE=1 run_jack spin "$DSP" --backend jack --device "$server" --duration 1 --inject spin:6000
check_cycles spin 25
f=$(one_profile "$tmp/p_spin") || exit 1
check_py "$f" <<'PY' || fail "CPU samples of the JACK callback"
p = load(sys.argv[1])
ap = p["audioprof"]
jack = [c for c in ap["callbacks"] if c["api"] == "jack" and c["count"] > 0]
cpu = ap.get("cpu")
ok(cpu is not None, "no audioprof.cpu: sampling is on by default")
if cpu is not None and len(jack) == 1:
    jid = jack[0]["id"]
    mine = [s for s in cpu["stacks"] if s["callback"] == jid]
    n = sum(s["count"] for s in mine)
    # 6 ms of CPU per cycle for 25+ cycles: 150 ms or more, at least 37 samples at this
    # kernel's tick (250 Hz), 15 at the slowest (100 Hz).
    ok(n >= 15, "%d samples of the JACK callback" % n)
    # The slow cycles kept count the samples taken in them: the kept ones, each 6 ms of
    # CPU, hold some (on average 1.5 each at 250 Hz), never more than the callback's.
    kept = jack[0].get("slow_cycles", [])
    ok(len(kept) >= 5, "%d slow cycles kept" % len(kept))
    in_kept = sum(c.get("cpu_samples", 0) for c in kept)
    ok(0 < in_kept <= n, "%d CPU samples in the %d kept cycles, %d in all" % (in_kept, len(kept), n))
    def names(s):
        return [p["ftbl"][i] for i in s["fs"]]
    def spinning(s):   # in inject_spin, or in the clock it reads (the vDSO)
        return any("inject_spin" in f for f in names(s))
    spin = sum(s["count"] for s in mine if spinning(s))
    ok(spin * 2 >= n, "%d of %d samples in inject_spin" % (spin, n))
    ok(all(any("dsp_process" in f for f in names(s)) and any("jack_process" in f for f in names(s))
           for s in mine if spinning(s)),
       "inject_spin samples without dsp_process and jack_process on the stack")
    outside = [s for s in cpu["stacks"] if s["callback"] != jid]
    ok(not any(spinning(s) for s in outside),
       "inject_spin sampled outside the JACK callback")
done()
PY
stop_jackd
echo ok
