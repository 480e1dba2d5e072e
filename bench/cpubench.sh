#!/usr/bin/env bash
# cpubench.sh - the cost of CPU sampling (AUDIOPROF_CPU) on the audio callback, in one
# run: dsp_demo's callback (freewheel backend: cycles back to back, all CPU time in the
# callback) under the preload with sampling off and on at the default rate, alternated
# ROUNDS times; the callback's mean and p99 from each profile, and the ratio of the
# medians (on / off), and the handler's own time as a share of the callback time. The
# same for a JACK client (dsp_demo's JACK backend on a private jackd) when jackd is
# installed. Then what the alternative design would cost per callback (cpucost: a
# timer_settime arm + disarm pair) beside one handled signal.
#   cpubench.sh [ROUNDS] [SECONDS_OF_AUDIO]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
rounds=${1:-5}
secs=${2:-300}
pre=$root/preload/libaudioprof.so
dsp=$root/dsp_demo/dsp_demo
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$dsp" ] && [ -f "$pre" ] || { echo "cpubench: build first (make all)"; exit 1; }
echo "== CPU sampling: dsp_demo --backend freewheel --duration $secs, $rounds rounds each"
for r in $(seq "$rounds"); do
	for mode in off rt; do
		env AUDIOPROF_CPU=$mode AUDIOPROF_OUT="$tmp/$mode.$r.json" LD_PRELOAD="$pre" \
			"$dsp" --backend freewheel --duration "$secs" 2>/dev/null >/dev/null ||
			{ echo "cpubench: dsp_demo failed"; exit 1; }
	done
done
python3 - "$tmp" "$rounds" <<'PY'
import json, statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
def cb(mode, r):
    p = json.load(open("%s/%s.%d.json" % (d, mode, r)))
    c = [c for c in p["audioprof"]["callbacks"] if c["name"] == "dsp_demo"][0]
    cpu = p["audioprof"].get("cpu", {})
    return c["mean_ns"], c["p99_ns"], cpu.get("samples", 0), cpu.get("handler_ns", 0), c["count"] * c["mean_ns"]
res = {m: [cb(m, r) for r in range(1, rounds + 1)] for m in ("off", "rt")}
med = {m: (statistics.median(x[0] for x in res[m]), statistics.median(x[1] for x in res[m])) for m in res}
for m in ("off", "rt"):
    print("  sampling %-3s  callback mean %6.2f us  p99 %6.2f us  (samples per run: %s)"
          % (m, med[m][0] / 1e3, med[m][1] / 1e3, ", ".join(str(x[2]) for x in res[m])))
print("  ratio on/off of the medians: mean %.3f, p99 %.3f (noise: other processes share the cores)"
      % (med["rt"][0] / med["off"][0], med["rt"][1] / med["off"][1]))
# The handler's own time, measured inside it (clock reads around each sample): what the
# samples add to the callbacks they land in, free of the noise between runs (an upper
# bound: a thread preempted inside the handler counts that time too).
h = sum(x[3] for x in res["rt"]); n = sum(x[2] for x in res["rt"]); cbt = sum(x[4] for x in res["rt"])
if n and cbt:
    print("  handler: %.2f us per sample; %.4f%% of the callback time sampled -> callback-time ratio %.4f"
          " (plus the kernel's signal delivery, below)" % (h / n / 1e3, 100.0 * h / cbt, 1 + h / cbt))
PY

# ---- a JACK client: dsp_demo's JACK backend against a private jackd (dummy driver,
# 48 kHz, 512 frames), each callback made heavier by --inject spin:2000 (2 ms of busy
# work) so that a short run gets samples; sampling off and on, alternated.
if command -v jackd >/dev/null 2>&1; then
	jname=cpubench_$$
	JACK_NO_AUDIO_RESERVATION=1 jackd -n "$jname" --no-realtime -d dummy -r 48000 -p 512 \
		>"$tmp/jackd.log" 2>&1 </dev/null &
	jpid=$!
	trap 'kill $jpid 2>/dev/null; wait $jpid 2>/dev/null; rm -rf "$tmp"' EXIT
	for _ in $(seq 1 50); do
		[ "$(jack_wait -s "$jname" -c 2>/dev/null)" = running ] && break
		sleep 0.2
	done
	echo "== CPU sampling: a JACK client (dsp_demo --backend jack --inject spin:2000 --duration 8), $rounds rounds each"
	jok=1
	for r in $(seq "$rounds"); do
		for mode in off rt; do
			env JACK_DEFAULT_SERVER="$jname" AUDIOPROF_CPU=$mode AUDIOPROF_OUT="$tmp/j$mode.$r.json" \
				LD_PRELOAD="$pre" "$dsp" --backend jack --device "$jname" --inject spin:2000 \
				--duration 8 >/dev/null 2>&1 || jok=0
		done
	done
	if [ $jok = 1 ]; then
		python3 - "$tmp" "$rounds" <<'PY'
import json, statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
def cb(mode, r):
    p = json.load(open("%s/j%s.%d.json" % (d, mode, r)))
    c = [c for c in p["audioprof"]["callbacks"] if c["api"] == "jack" and c["count"] > 0][0]
    cpu = p["audioprof"].get("cpu", {})
    return c["mean_ns"], c["p99_ns"], cpu.get("samples", 0), cpu.get("handler_ns", 0), c["count"] * c["mean_ns"]
res = {m: [cb(m, r) for r in range(1, rounds + 1)] for m in ("off", "rt")}
med = {m: (statistics.median(x[0] for x in res[m]), statistics.median(x[1] for x in res[m])) for m in res}
for m in ("off", "rt"):
    print("  sampling %-3s  callback mean %7.1f us  p99 %7.1f us  (samples per run: %s)"
          % (m, med[m][0] / 1e3, med[m][1] / 1e3, ", ".join(str(x[2]) for x in res[m])))
print("  ratio on/off of the medians: mean %.3f, p99 %.3f" % (med["rt"][0] / med["off"][0], med["rt"][1] / med["off"][1]))
h = sum(x[3] for x in res["rt"]); n = sum(x[2] for x in res["rt"]); cbt = sum(x[4] for x in res["rt"])
if n and cbt:
    print("  handler: %.2f us per sample; callback-time ratio %.4f" % (h / n / 1e3, 1 + h / cbt))
PY
	else
		echo "  the JACK client failed: not measured"
	fi
else
	echo "  (no jackd: the JACK client is not measured)"
fi

echo "== what arming the timer around every callback would cost instead"
cc -O2 -o "$tmp/cpucost" "$here/cpucost.c" -lpthread && "$tmp/cpucost" | sed 's/^/  /'
