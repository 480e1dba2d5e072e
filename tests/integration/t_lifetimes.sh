#!/usr/bin/env bash
# t_lifetimes.sh - block lifetimes (tl) and short-lived counts (slk) agree with the
# program's own CLOCK_MONOTONIC brackets (tests/progs/lifetimes.c), with the TSC clock
# (AUDIOPROF_CLOCK=auto, where the kernel keeps time with the TSC) and with
# AUDIOPROF_CLOCK=monotonic; audioprof.clock names the clock that was used.
# A lifetime lies in [free's start - malloc's end, free's end - malloc's start] by
# construction; the only slack allowed is the tick-to-ns conversion's (2e-5, 2 us).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog lifetimes
make_tmp

src=/sys/devices/system/clocksource/clocksource0/current_clocksource
tsc=0
[ "$(cat $src 2>/dev/null)" = tsc ] && grep -qw constant_tsc /proc/cpuinfo && tsc=1
note "kernel clocksource: $(cat $src 2>/dev/null || echo unknown)"

for mode in auto monotonic; do
	mkdir "$tmp/$mode"
	env AUDIOPROF_OUT="$tmp/$mode/p.json" AUDIOPROF_CLOCK=$mode LD_PRELOAD="$PRELOAD" \
		"$BIN/lifetimes" >"$tmp/$mode/out" 2>"$tmp/$mode/err"
	rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/$mode/err"; fail "lifetimes exited $rc ($mode)"; }
	[ -s "$tmp/$mode/err" ] && { cat "$tmp/$mode/err"; fail "the preload wrote to stderr"; }
	want=monotonic
	[ $mode = auto ] && [ $tsc = 1 ] && want=tsc
	echo "AUDIOPROF_CLOCK=$mode (expect audioprof.clock $want)"
	check_py "$tmp/$mode/p.json" "$tmp/$mode/out" "$want" <<'PY' || exit 1
p = load_checked(sys.argv[1])
want_clock = sys.argv[3]
eq("audioprof.clock", p.get("audioprof", {}).get("clock"), want_clock)
brackets = {}
for line in open(sys.argv[2]):
    f = line.split()
    brackets[f[0]] = [int(x) for x in f[1:]]
REL, ABS = 2e-5, 2000

def within(what, got, lo, hi):
    ok(lo * (1 - REL) - ABS <= got <= hi * (1 + REL) + ABS,
       "%s: %d ns not in the program's bracket [%d, %d]" % (what, got, lo, hi))

for site, blocks in (("site_long", 2), ("site_mid", 2), ("site_short", 10)):
    lo, hi, sure_short, sure_long = brackets[site]
    pps = pps_with(p, site)   # one per call line in main
    pp = {k: sum(q.get(k, 0) for q in pps) for k in ("tbk", "tl", "slk")}
    eq(site + " tbk", pp.get("tbk"), blocks)
    within(site + " tl", pp.get("tl", -1), lo, hi)
    slk = pp.get("slk", -1)
    ok(sure_short <= slk <= blocks - sure_long,
       "%s: slk %d, but %d surely lived < 1 ms and %d surely >= 1 ms of %d"
       % (site, slk, sure_short, sure_long, blocks))
    info("%s: tl %d ns in [%d, %d]; slk %d" % (site, pp.get("tl", -1), lo, hi, slk))
live = pp_with(p, "site_live")
if live:
    lo = brackets["site_live"][0]
    tl = live.get("tl", -1)
    ok(tl >= lo * (1 - REL) - ABS and tl <= p["te"],
       "site_live: tl %d ns, expected >= %d (lived that long before exit) and <= te %d"
       % (tl, lo, p["te"]))
    eq("site_live ebk", live.get("ebk"), 1)
done()
PY
done
echo "ok"
