#!/usr/bin/env bash
# t_cpuprof.sh - CPU samples of real-time code (AUDIOPROF_CPU, preload/engine/cpuprof.c):
#  1. shares: tests/progs/cpushare spends 60 %, 30 % and 10 % of each cycle's CPU time
#     (measured on its thread's CPU clock) in spin_a, spin_b and spin_c inside a marked
#     region. In `audioprof flame --cpu --callback cpushare`, the share of samples whose
#     stack holds each function agrees within 4 binomial standard deviations
#     (sqrt(p(1-p)/N)); with N >= 1000 samples (about 2000 in 8 s of CPU at a 250 Hz tick, fewer on a loaded machine) that is at most 6.2 percentage points. The
#     CPU it burns outside the region is counted as outside_rt and never in a stack.
#     `audioprof report` lists the three with their shares.
#  2. signals: tests/progs/cpusig (its own SIGPROF itimer, a POSIX timer, sigwait, blocking
#     reads, and a handler of its own for the sampler's signal, which it sends itself)
#     prints the same and exits the same natively and under the preload, and its region
#     was sampled. `cpusig sleepy` (CPU bursts between 1 ns nanosleeps and 1 us ppolls,
#     calls the kernel never restarts after a handler) prints 0 EINTR of each under the
#     preload as natively, although at least 100 samples landed in those calls.
#  3. dsp_demo (freewheel): each zone's share of the callback's time and the share of CPU
#     samples in the zone's function agree within 6 points (zones >= 10 %): two
#     measurements of one thing (the zones' own clock reads cost time the samples do not
#     see), statistical error under 2 points at N >= 1000.
#  4. `audioprof run --cpu off` writes no CPU samples; --cpu takes rt, all or off only.
. "$(dirname "$0")/lib/common.sh"
need_preload
make_tmp
build_prog cpushare cpusig
AP=$ROOT/analyzer/audioprof
DSP=$ROOT/dsp_demo/dsp_demo

# ---- 1. known shares
env AUDIOPROF_OUT="$tmp/share.json" LD_PRELOAD="$PRELOAD" "$BIN/cpushare" 8 >"$tmp/out" 2>"$tmp/err" ||
	{ cat "$tmp/err"; fail "cpushare under the preload: exit $?"; }
"$AP" flame --cpu --callback cpushare "$tmp/share.json" >"$tmp/folded" || fail "flame --cpu failed"
"$AP" report "$tmp/share.json" >"$tmp/report" || true
"$AP" report --json "$tmp/share.json" >"$tmp/report.json" || true
check_py "$tmp/share.json" "$tmp/folded" "$tmp/report" "$tmp/report.json" <<'PY' || exit 1
import json, math
p = load_checked(sys.argv[1])
cpu = p["audioprof"]["cpu"]
n = 0
inc = {"spin_a": 0, "spin_b": 0, "spin_c": 0, "spin_outside": 0}
for line in open(sys.argv[2]):
    stack, count = line.rsplit(" ", 1)
    frames = stack.split(";")
    n += int(count)
    for f in inc:
        if f in frames:
            inc[f] += int(count)
info("cpushare: %d samples in the region, %d outside, %d overruns; by function %r"
     % (n, cpu["outside_rt"], cpu["overruns"], inc))
ok(n >= 1000, "only %d samples: too few for the tolerance below" % n)
eq("samples in the folded output vs the profile", n, cpu["samples"])
ok(cpu["outside_rt"] > 0, "no sample was dropped outside the region (spin_outside ran)")
eq("samples of spin_outside in stacks", inc["spin_outside"], 0)
for f, want in (("spin_a", 0.6), ("spin_b", 0.3), ("spin_c", 0.1)):
    got = inc[f] / max(n, 1)
    tol = 4 * math.sqrt(want * (1 - want) / max(n, 1))
    ok(abs(got - want) <= tol, "%s: %.1f%% of the samples, want %.0f%% +- %.1f"
       % (f, 100 * got, 100 * want, 100 * tol))
rep = open(sys.argv[3]).read()
ok("CPU samples of real-time code" in rep, "report: no CPU section")
for f in ("spin_a", "spin_b", "spin_c"):
    ok(any(l.split()[-1:] == [f] and "%" in l for l in rep.splitlines()), "report: no line for " + f)
rj = json.load(open(sys.argv[4]))["cpu"]["callbacks"]
fj = {f["name"]: f["total"] for c in rj if c["callback"] == 0 for f in c["functions"]}
for f in ("spin_a", "spin_b", "spin_c"):
    eq("report --json: samples with " + f, fj.get(f), inc[f])
done()
PY

# ---- 2. a program's own signals
same_behaviour "$tmp/sig" "$BIN/cpusig" || fail "cpusig behaves differently under the preload"
[ "$last_status" -eq 0 ] || { cat "$tmp/native.out"; fail "cpusig failed natively: $last_status"; }
check_py "$(one_profile "$tmp/sig")" <<'PY' || exit 1
p = load_checked(sys.argv[1])
cpu = p["audioprof"]["cpu"]
cbs = p["audioprof"]["callbacks"]
reg = [c["id"] for c in cbs if c["name"] == "cpusig"]
eq("cpusig regions", len(reg), 1)
got = sum(s["count"] for s in cpu["stacks"] if s["callback"] == reg[0])
ok(got > 0, "the cpusig region was never sampled")
done()
PY

same_behaviour "$tmp/sleepy" "$BIN/cpusig" sleepy || fail "cpusig sleepy behaves differently under the preload"
[ "$last_status" -eq 0 ] || { cat "$tmp/native.out"; fail "cpusig sleepy failed natively: $last_status"; }
"$AP" flame --cpu --callback cpusig "$(one_profile "$tmp/sleepy")" >"$tmp/sfold" || fail "flame --cpu (sleepy)"
check_py "$tmp/sfold" "$(cat "$tmp/pre.out")" <<'PY' || exit 1
n = 0
for line in open(sys.argv[1]):
    stack, count = line.rsplit(" ", 1)
    leaf = stack.split(";")[-1]
    if "nanosleep" in leaf or "ppoll" in leaf:
        n += int(count)
info("sleepy: %d samples in nanosleep or ppoll; %s" % (n, sys.argv[2]))
ok(n >= 100, "only %d samples landed in nanosleep or ppoll: the test proves little" % n)
done()
PY

# ---- 3. dsp_demo: zones and samples
env AUDIOPROF_OUT="$tmp/dsp.json" LD_PRELOAD="$PRELOAD" "$DSP" --backend freewheel --duration 1200 \
	>"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err"; fail "dsp_demo under the preload failed"; }
"$AP" flame --cpu --callback dsp_demo "$tmp/dsp.json" >"$tmp/dfold" || fail "flame --cpu (dsp_demo)"
check_py "$tmp/dsp.json" "$tmp/dfold" <<'PY' || exit 1
p = load_checked(sys.argv[1])
cb = [c for c in p["audioprof"]["callbacks"] if c["name"] == "dsp_demo"][0]
total = cb["count"] * cb["mean_ns"]
zone = {z["name"]: z["count"] * z["mean_ns"] / total for z in cb["zones"]}
# The functions each zone of dsp_demo/engine.c calls.
funcs = {"source": ["source_render"], "eq": ["eq_process"],
         "fft": ["analyser_push", "analyser_run"], "smooth": ["smooth_run"]}
n = 0
inz = dict.fromkeys(funcs, 0)
for line in open(sys.argv[2]):
    stack, count = line.rsplit(" ", 1)
    frames = stack.split(";")
    n += int(count)
    for z, fs in funcs.items():
        if any(f in frames for f in fs):
            inz[z] += int(count)
ok(n >= 1000, "only %d samples of dsp_demo's callback" % n)
for z in funcs:
    s = inz[z] / max(n, 1)
    info("zone %-6s %5.1f%% of the callback's time, %5.1f%% of %d samples" % (z, 100 * zone[z], 100 * s, n))
    if zone[z] >= 0.10:
        ok(abs(s - zone[z]) <= 0.06, "zone %s: %.1f%% by its clock, %.1f%% by samples" % (z, 100 * zone[z], 100 * s))
done()
PY
# ---- 4. audioprof run --cpu off: no timer, no "cpu" object; a bad mode is a usage error
"$AP" run -q --cpu off -o "$tmp/off.json" -- "$BIN/cpushare" 0.2 >/dev/null || fail "run --cpu off failed"
check_py "$tmp/off.json" <<'PY' || exit 1
p = load_checked(sys.argv[1])
ok("cpu" not in p["audioprof"], "a profile written with --cpu off has CPU samples")
done()
PY
"$AP" run --cpu sometimes -- true 2>/dev/null
[ $? -eq 2 ] || fail "run --cpu sometimes: not a usage error"
echo "PASS"
