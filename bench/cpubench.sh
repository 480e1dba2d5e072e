#!/usr/bin/env bash
# cpubench.sh - the cost of CPU sampling (AUDIOPROF_CPU) on the audio callback, in one
# run: dsp_demo's callback (freewheel backend: cycles back to back, all CPU time in the
# callback) under the preload with sampling off and on at the default rate, alternated
# ROUNDS times; the callback's mean and p99 from each profile, and the ratio of the
# medians (on / off). Then what the alternative design would cost per callback
# (cpucost: a timer_settime arm + disarm pair) beside one handled signal.
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
# samples add to the callbacks they land in, free of the noise between runs.
h = sum(x[3] for x in res["rt"]); n = sum(x[2] for x in res["rt"]); cbt = sum(x[4] for x in res["rt"])
if n and cbt:
    print("  handler: %.2f us per sample; %.4f%% of the callback time sampled -> callback-time ratio %.4f"
          " (plus the kernel's signal delivery, below)" % (h / n / 1e3, 100.0 * h / cbt, 1 + h / cbt))
PY
cc -O2 -o "$tmp/cpucost" "$here/cpucost.c" -lpthread && "$tmp/cpucost" | sed 's/^/  /'
echo "  (JACK client: not measured here)"
