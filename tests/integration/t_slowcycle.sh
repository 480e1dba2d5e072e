#!/usr/bin/env bash
# t_slowcycle.sh - slow cycles and the time spent inside unsafe calls, with
# tests/progs/slowcycle.c: 200 cycles of a region with a 10 ms deadline, each locking a
# mutex no one else holds; cycle 50 sleeps 30 ms (usleep), cycle 120 waits at least
# 40 ms for a mutex another thread holds.
#  - the profile keeps the slowest cycles (AUDIOPROF_SLOW_CYCLES, 10 by default) and
#    the overruns, oldest first: cycles 50 and 120 are there, each with its call's
#    stack and a time inside it no shorter than the known sleep or hold, within the
#    cycle's own duration; every kept cycle holds its one uncontended lock;
#  - the violations carry their total and longest time: the usleep >= 30 ms, the waited
#    lock >= 40 ms, the uncontended lock counted exactly (200 calls) with a time too;
#  - AUDIOPROF_SLOW_CYCLES=3 keeps 3 slowest (the overruns still), =0 keeps none;
#  - each source's load over time has one row per heap timeline sample, and every cycle
#    is in one row or after the last sample; the lock wait's 400 % is among them;
#  - `report` tells the stories ("cycle 50 at ... took ... (N% of the deadline): usleep
#    at slowcycle.c:L, 1 call, T") and lists violations by time inside, longest first;
#  - `check --max-violation-time`: exit 1 over the limit, 0 under it, 2 for a bad value,
#    and a note (not a failure) on a profile written before calls were timed.
# Lower bounds only: a sleep or a wait can last longer than asked, never shorter.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/analyzer.sh"
need_preload
need_analyzer
build_prog slowcycle
make_tmp
P=$BIN/slowcycle

# run LABEL [VAR=VALUE...]: slowcycle under the preload; the profile is $tmp/LABEL.json.
run() {
	local label=$1
	shift
	env "$@" AUDIOPROF_OUT="$tmp/$label.json" LD_PRELOAD="$PRELOAD" "$P" \
		>"$tmp/$label.out" 2>"$tmp/$label.err" ||
		{ cat "$tmp/$label.err"; fail "$label: slowcycle exited $?"; }
	grep -qx done "$tmp/$label.out" || fail "$label: no 'done' on stdout"
	[ -s "$tmp/$label.err" ] && { cat "$tmp/$label.err"; fail "$label: messages on stderr"; }
	[ -f "$tmp/$label.json" ] || fail "$label: no profile"
}

run default
run three AUDIOPROF_SLOW_CYCLES=3
run none AUDIOPROF_SLOW_CYCLES=0

check_py "$tmp/default.json" "$tmp/three.json" "$tmp/none.json" <<'PY' || exit 1
SLEEP_NS, HOLD_NS = 30000000, 40000000

def source(p, label):
    cbs = p.get("audioprof", {}).get("callbacks", [])
    eq(label + ": callbacks (api, name)", [(c.get("api"), c.get("name")) for c in cbs],
       [("region", "cycle")])
    return cbs[0] if cbs else {}

def cyc_funcs(p, v):
    return funcs(p, v)

def check_kept(p, cb, label, slowest):
    kept = cb.get("slow_cycles", [])
    nums = [c.get("cycle") for c in kept]
    eq(label + ": kept cycles oldest first, each once", nums, sorted(set(nums)))
    ok(all(is_int(n) and 1 <= n <= 200 for n in nums), label + ": cycle numbers in 1..200: %r" % nums)
    eq(label + ": cycles among the slowest", sum(1 for c in kept if c.get("slowest") is True), slowest)
    for c in kept:
        # Every cycle locks free_mutex once: that is in each kept cycle's list.
        free = [v for v in c.get("violations", []) if "lock_free_mutex" in cyc_funcs(p, v)]
        eq(label + ": cycle %s: the uncontended lock (count)" % c.get("cycle"),
           [v.get("count") for v in free], [1])
        eq(label + ": cycle %s: overrun flag" % c.get("cycle"), c.get("overrun"),
           c.get("dur_ns", 0) > c.get("deadline_ns", 0))
        eq(label + ": cycle %s: deadline" % c.get("cycle"), c.get("deadline_ns"), 10000000)
    for num, func, call, known in ((50, "sleep_in_cycle", "usleep", SLEEP_NS),
                                   (120, "wait_in_cycle", "pthread_mutex_lock", HOLD_NS)):
        c = [c for c in kept if c.get("cycle") == num]
        if not ok(c, label + ": cycle %d (%s) not kept: %r" % (num, call, nums)):
            continue
        c = c[0]
        eq(label + ": cycle %d overran" % num, c.get("overrun"), True)
        ok(c.get("dur_ns", 0) >= known, label + ": cycle %d took %r ns < %d" % (num, c.get("dur_ns"), known))
        ok(c.get("start_ns", -1) >= 0, label + ": cycle %d start_ns %r" % (num, c.get("start_ns")))
        vs = [v for v in c.get("violations", []) if func in cyc_funcs(p, v)]
        if not ok(len(vs) == 1, label + ": cycle %d: one violation in %s: %r" % (num, func, vs)):
            continue
        v = vs[0]
        eq(label + ": cycle %d: call" % num, v.get("call"), call)
        eq(label + ": cycle %d: count" % num, v.get("count"), 1)
        t = v.get("time_ns", -1)
        ok(known <= t <= c.get("dur_ns", 0),
           label + ": cycle %d: %s took %r ns inside, not in [%d, %r]" % (num, call, t, known, c.get("dur_ns")))
    return kept

# ---- default: 10 slowest
p = load_checked(sys.argv[1])
ap = p.get("audioprof", {})
cb = source(p, "default")
eq("default: cycles", cb.get("count"), 200)
ok(cb.get("overruns", 0) >= 2, "default: overruns %r < 2" % cb.get("overruns"))
check_kept(p, cb, "default", 10)
eq("default: overruns_unlisted", cb.get("overruns_unlisted"), 0)

vs = {}
for v in ap.get("violations", []):
    f = [x for x in funcs(p, v) if x in ("sleep_in_cycle", "wait_in_cycle", "lock_free_mutex")]
    ok(len(f) == 1, "violation %s with none of the three functions: %r" % (v.get("call"), funcs(p, v)))
    if f:
        vs[f[0]] = v
eq("violations (function: call, count)", {k: (v.get("call"), v.get("count")) for k, v in vs.items()},
   {"sleep_in_cycle": ("usleep", 1), "wait_in_cycle": ("pthread_mutex_lock", 1),
    "lock_free_mutex": ("pthread_mutex_lock", 200)})
for func, known in (("sleep_in_cycle", SLEEP_NS), ("wait_in_cycle", HOLD_NS), ("lock_free_mutex", 0)):
    v = vs.get(func, {})
    tot, mx = v.get("time_ns"), v.get("time_max_ns")
    ok(is_int(tot) and is_int(mx), "%s: time_ns %r, time_max_ns %r" % (func, tot, mx))
    if is_int(tot) and is_int(mx):
        ok(known <= mx <= tot, "%s: longest %d, total %d, known %d" % (func, mx, tot, known))

tl = ap.get("timeline", {})
n = len(tl.get("t_ns", []))
ok(n >= 1, "no timeline samples")
load = tl.get("load", [])
eq("timeline.load sources", [x.get("callback") for x in load], [0])
for x in load:
    for k in ("count", "mean_ppm", "max_ppm"):
        eq("timeline.load %s length" % k, len(x.get(k, [])), n)
    # Every cycle is in one row, or after the last sample.
    eq("timeline.load: cycles in the rows and after them", sum(x.get("count", [])) + x.get("tail_count", -1), 200)
    ok(all(m >= a for m, a in zip(x.get("max_ppm", []), x.get("mean_ppm", []))), "a row's mean above its max")
    top = max(x.get("max_ppm", []) + [x.get("tail_max_ppm", 0)])
    ok(top >= HOLD_NS // 10, "timeline.load: the largest load %r ppm is below the lock wait's 400%%" % top)

# ---- AUDIOPROF_SLOW_CYCLES=3; =0
p = load_checked(sys.argv[2])
check_kept(p, source(p, "three"), "three", 3)
p = load_checked(sys.argv[3])
cb = source(p, "none")
eq("none: slow_cycles", cb.get("slow_cycles"), [])
eq("none: overruns_unlisted (all of them)", cb.get("overruns_unlisted"), cb.get("overruns"))
done()
PY
echo "slow cycles: 50 (usleep) and 120 (lock wait) kept with their calls' stacks and times"

# ------------------------------------------------------------------ report
"$AP" report --color never "$tmp/default.json" >"$tmp/report.txt" || fail "report failed"
"$AP" report --json "$tmp/default.json" >"$tmp/report.json" || fail "report --json failed"
check_py "$tmp/default.json" "$tmp/report.txt" "$tmp/report.json" <<'PY' || exit 1
import re
p = load(sys.argv[1])
text = open(sys.argv[2]).read()
rj = json.load(open(sys.argv[3]))
stories = {c["cycle"]: c.get("story", "") for cb in rj.get("callbacks", []) for c in cb.get("slow_cycles", [])}
for num, call, func_line in ((50, "usleep", "sleep_in_cycle"), (120, "pthread_mutex_lock", "wait_in_cycle")):
    s = stories.get(num, "")
    # (", N CPU samples" when the sampler's timer fired in it: waiting takes little CPU,
    # but the cycle's own work may take a sample.)
    ok(re.match(r"cycle %d at [\d.]+ m?s took [\d.]+ m?s \(\d+%% of the deadline\)"
                r"(, \d+ CPU samples?)?: %s at slowcycle\.c:\d+, "
                r"1 call, [\d.]+ ms" % (num, call), s), "story of cycle %d: %r" % (num, s))
    # The text report tells the same story (wrapped to the terminal's width).
    flat = re.sub(r"\s+", " ", text)
    ok(s and re.sub(r"\s+", " ", s) in flat, "text report lacks the story of cycle %d" % num)
# The violations, longest time inside first.
rows = re.findall(r"^\s+\d+\. violation .* x[\d,]+, .* inside, longest .*\n\s+at (\w+)", text, re.M)
times = {}
for v in p["audioprof"]["violations"]:
    f = [x for x in funcs(p, v) if x in ("sleep_in_cycle", "wait_in_cycle", "lock_free_mutex")]
    times[f[0]] = v["time_ns"]
eq("report: violations by time inside", rows, sorted(times, key=lambda k: -times[k]))
done()
PY
echo "report: stories of cycles 50 and 120, violations sorted by time inside"

# ------------------------------------------------------------------ check
"$AP" check --max-violation-time 20ms "$tmp/default.json" >"$tmp/check1.out" 2>&1
rc=$?
[ $rc -eq 1 ] || { cat "$tmp/check1.out"; fail "check --max-violation-time 20ms exited $rc, expected 1"; }
grep -q "FAIL max-violation-time: longest time inside one real-time-unsafe call: .* limit 20.00 ms" \
	"$tmp/check1.out" || { cat "$tmp/check1.out"; fail "check: no FAIL line"; }
"$AP" check --max-violation-time 3600s "$tmp/default.json" >"$tmp/check0.out" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/check0.out"; fail "check --max-violation-time 3600s exited $rc, expected 0"; }
"$AP" check --max-violation-time soon "$tmp/default.json" >"$tmp/check2.out" 2>&1
rc=$?
[ $rc -eq 2 ] || { cat "$tmp/check2.out"; fail "check --max-violation-time soon exited $rc, expected 2"; }
"$AP" check --max-callback-allocs 100000 --max-violation-time 1ms "$TESTS_DIR/fixtures/audio_violations.json" \
	>"$tmp/check3.out" 2>"$tmp/check3.err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/check3.out" "$tmp/check3.err"; fail "check of an untimed profile exited $rc, expected 0"; }
grep -q "max-violation-time not checked: its violations carry no times" "$tmp/check3.err" ||
	{ cat "$tmp/check3.err"; fail "check: no note for an untimed profile"; }
echo "check --max-violation-time: 1 over, 0 under, 2 on a bad value, a note on an untimed profile"
echo "ok"
