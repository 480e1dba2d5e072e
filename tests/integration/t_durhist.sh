#!/usr/bin/env bash
# t_durhist.sh - each callback source and zone writes its whole duration histogram
# ("dur_hist": bucket, count pairs, common/durhist.h), with tests/progs/rtcallback.c:
# 60 cycles of a region with zones "mix" and "effects", every 15th cycle sleeping
# 200 us inside "effects".
#  - the pairs are whole numbers, buckets rising and in range, counts above 0;
#  - the counts add up to the source's or zone's "count" (the program has ended);
#  - the lowest and highest non-empty buckets are those of min_ns and max_ns;
#  - the 4 sleeping cycles are there: at least 4 durations of the source and of
#    "effects" lie in buckets that reach 200 us or beyond.
# Lower bounds only: a sleep can last longer than asked, never shorter.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog rtcallback
make_tmp

env AUDIOPROF_OUT="$tmp/rt.json" LD_PRELOAD="$PRELOAD" "$BIN/rtcallback" 60 >/dev/null ||
	fail "rtcallback failed under the preload"

check_py "$tmp/rt.json" <<'PY' || fail "dur_hist is not as the layout says"
prof = load(sys.argv[1])

def bucket(ns):   # durhist_bucket() of common/durhist.h
    if ns < 16:
        return ns
    e = ns.bit_length() - 1
    return min((e - 3) * 16 + ((ns >> (e - 4)) & 15), 639)

def upper(b):     # one past the largest duration in bucket b
    if b < 16:
        return b + 1
    e, m = b // 16 + 3, b % 16
    return (17 + m) << (e - 4)

def check(what, o, slow):
    h = o.get("dur_hist")
    if not ok(isinstance(h, list), "%s has dur_hist" % what):
        return
    ok(len(h) % 2 == 0 and all(is_int(v) for v in h), "%s.dur_hist: pairs of whole numbers" % what)
    bs, cs = h[0::2], h[1::2]
    ok(all(0 <= b < 640 for b in bs) and bs == sorted(set(bs)), "%s.dur_hist: buckets rise, in range" % what)
    ok(all(c > 0 for c in cs), "%s.dur_hist: only non-empty buckets" % what)
    eq("%s: sum of dur_hist's counts" % what, sum(cs), o["count"])
    eq("%s: lowest bucket" % what, bs[0], bucket(o["min_ns"]))
    eq("%s: highest bucket" % what, bs[-1], bucket(o["max_ns"]))
    if slow:
        n = sum(c for b, c in zip(bs, cs) if upper(b) > 200000)
        ok(n >= slow, "%s: %d durations reach 200 us (want >= %d)" % (what, n, slow))

cbs = [c for c in prof["audioprof"]["callbacks"] if c.get("name") == "rtcallback"]
eq("rtcallback sources", len(cbs), 1)
cb = cbs[0]
eq("cycles timed", cb["count"], 60)
check("the source", cb, 4)
zones = {z["name"]: z for z in cb["zones"]}
eq("zones", sorted(zones), ["effects", "mix"])
check("zone mix", zones["mix"], 0)
check("zone effects", zones["effects"], 4)
done()
PY
echo "PASS"
