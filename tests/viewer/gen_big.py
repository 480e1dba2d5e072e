#!/usr/bin/env python3
"""gen_big.py - writes a synthetic audioprof profile with many allocation sites, for the
viewer's responsiveness test (tests/viewer/test.js).

    gen_big.py OUT.json [SITES] [--seed N]

SITES (default 100000) distinct stacks of 6 to 28 frames, grown as random walks in a
call graph where each function calls a few others, so that stacks share their outer
frames as a real program's do; the innermost frame is an allocation function of
libaudioprof.so. Per-site numbers are consistent (gb <= mb <= tb, eb <= mb, slk <= tbk)
and audioprof.totals are their sums. Also two callback sources (a JACK client with a
deadline, a histogram, overruns, near misses and zones; a marked region without one), a
few violations and a 600-sample heap timeline. Deterministic for a given seed.
"""
import json
import random
import sys

ALLOC = ["0x4848899: malloc (in /usr/lib/audioprof/libaudioprof.so)",
         "0x484DCB0: calloc (in /usr/lib/audioprof/libaudioprof.so)",
         "0x48501A3: realloc (in /usr/lib/audioprof/libaudioprof.so)",
         "0x4851000: operator new(unsigned long) (in /usr/lib/audioprof/libaudioprof.so)"]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if not args:
        sys.stderr.write(__doc__)
        return 2
    out = args[0]
    nsites = int(args[1]) if len(args) > 1 else 100000
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 1
    rnd = random.Random(seed)

    # A call graph: function f calls CALLEES[f] (3 to 6 others); frame strings per call site.
    nfunc = 6000
    verbs = ["mix", "filter", "grain", "voice", "env", "lfo", "osc", "fx", "bus", "midi", "ui", "io"]
    names = ["%s_%s_%d" % (verbs[i % len(verbs)], ["init", "process", "update", "alloc", "push", "load"][i % 6], i)
             for i in range(nfunc)]
    callees = [[rnd.randrange(3, nfunc) for _ in range(rnd.randint(3, 6))] for _ in range(nfunc)]
    ftbl = ["[root]"] + ALLOC
    index = {}

    def frame(func, site):
        """The ftbl index of function `func` at its call site number `site`."""
        key = (func, site)
        i = index.get(key)
        if i is None:
            i = len(ftbl)
            index[key] = i
            addr = 0x401000 + func * 0x40 + site * 4
            if func % 11 == 0:
                ftbl.append("0x%X: %s+0x%x (in /usr/lib/x86_64-linux-gnu/libdsp.so.%d)"
                            % (0x7F0000000000 + addr, names[func], site * 4, func % 3))
            else:
                ftbl.append("0x%X: %s (src/%s.c:%d)" % (addr, names[func], verbs[func % len(verbs)], 10 + site))
        return i

    outer = [frame(0, 0), frame(1, 0), frame(2, 0)]   # _start, __libc_start_main, main
    ftbl[outer[0]] = "0x401020: _start (in /usr/bin/synth)"
    ftbl[outer[1]] = "0x7F0000029D90: __libc_start_main (in /usr/lib/x86_64-linux-gnu/libc.so.6)"
    ftbl[outer[2]] = "0x401200: main (src/main.c:88)"
    seen = set()
    stacks = []
    while len(stacks) < nsites:
        depth = rnd.randint(3, 25)
        f = 2
        walk = list(outer)
        for _ in range(depth):
            k = rnd.randrange(len(callees[f]))
            f = callees[f][k]
            walk.append(frame(f, k))
        fs = [1 + rnd.randrange(len(ALLOC))] + walk[::-1]   # innermost first
        t = tuple(fs)
        if t in seen:
            continue
        seen.add(t)
        stacks.append(fs)

    te = 60 * 10**9
    tuth = 10**6
    pps = []
    tot = dict(curr_b=0, curr_k=0, max_b=0, max_k=0, total_b=0, total_k=0, frees=0)
    for i, fs in enumerate(stacks):
        tbk = max(1, int(rnd.lognormvariate(2.0, 1.6)))
        size = max(1, int(rnd.lognormvariate(5.0, 1.5)))
        tb = tbk * size
        mbk = rnd.randint(1, tbk)
        gbk = rnd.randint(0, mbk)
        ebk = rnd.randint(0, mbk) if rnd.random() < 0.1 else 0
        slk = rnd.randint(0, tbk - ebk)
        cbk = min(tbk, rnd.randint(1, 3)) if rnd.random() < 0.002 else 0
        pp = {"tb": tb, "tbk": tbk, "tl": tbk * rnd.randint(1000, 10**9),
              "mb": mbk * size, "mbk": mbk, "gb": gbk * size, "gbk": gbk,
              "eb": ebk * size, "ebk": ebk, "slk": slk, "cbk": cbk, "cbb": cbk * size,
              "fs": fs, "ids": [i + 1]}
        pps.append(pp)
        tot["total_b"] += tb
        tot["total_k"] += tbk
        tot["max_b"] += pp["gb"]
        tot["max_k"] += gbk
        tot["curr_b"] += pp["eb"]
        tot["curr_k"] += ebk
        tot["frees"] += tbk - ebk

    edges = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100, 150, 200, 400]
    counts = [0, 1200, 18000, 7400, 1100, 260, 90, 40, 20, 8, 3, 2, 1, 0, 0]
    n = sum(counts)
    jack = {"id": 0, "api": "jack", "name": "synth", "tid": 4242, "thread": "synth-rt",
            "policy": "SCHED_FIFO", "priority": 70, "rate": 48000, "frames": 512,
            "deadline_ns": 10666666, "count": n, "min_ns": 1100000, "mean_ns": 2400000,
            "p50_ns": 2200000, "p90_ns": 3300000, "p99_ns": 5600000, "p999_ns": 9100000,
            "max_ns": 14900000, "load_mean_pct": 22.5, "load_max_pct": 139.7, "overruns": 3,
            "near80": 33, "near95": 6, "period_mean_ns": 10666910, "jitter_max_ns": 910000,
            "jitter_p99_ns": 120000, "xruns": 1, "allocs": 12, "frees": 12, "alloc_bytes": 6144,
            "rt_unsafe": 2, "histogram": {"edges_pct": edges, "counts": counts},
            "zones": [{"name": "voices", "count": n, "mean_ns": 1300000, "min_ns": 500000,
                       "p99_ns": 3900000, "max_ns": 9000000},
                      {"name": "reverb", "count": n, "mean_ns": 700000, "min_ns": 600000,
                       "p99_ns": 900000, "max_ns": 2100000}]}
    region = {"id": 1, "api": "region", "name": "meter", "tid": 4243, "thread": "ui",
              "policy": "SCHED_OTHER", "priority": 0, "rate": 0, "frames": 0, "deadline_ns": 0,
              "count": 3600, "min_ns": 20000, "mean_ns": 41000, "p50_ns": 39000, "p90_ns": 52000,
              "p99_ns": 80000, "p999_ns": 150000, "max_ns": 210000, "load_mean_pct": 0.0,
              "load_max_pct": 0.0, "overruns": 0, "near80": 0, "near95": 0, "period_mean_ns": 0,
              "jitter_max_ns": 0, "jitter_p99_ns": 0, "xruns": 0, "allocs": 0, "frees": 0,
              "alloc_bytes": 0, "rt_unsafe": 0,
              "histogram": {"edges_pct": edges, "counts": [0] * len(edges)}, "zones": []}
    violations = [
        {"kind": "alloc", "call": "malloc", "severity": "violation", "count": 12, "bytes": 6144,
         "callback": 0, "fs": stacks[7]},
        {"kind": "lock", "call": "pthread_mutex_lock", "severity": "violation", "count": 2,
         "bytes": 0, "callback": 0, "fs": stacks[8][1:]},
        {"kind": "trylock", "call": "pthread_mutex_trylock", "severity": "warning", "count": 40,
         "bytes": 0, "callback": 0, "fs": stacks[9][1:]},
    ]
    samples = 600
    t_ns, live_b, live_k, heap_b, used_b = [], [], [], [], []
    for k in range(samples):
        t = k * te // samples
        frac = min(1.0, k / 150.0)
        lb = int(tot["max_b"] * frac * (0.92 + 0.08 * rnd.random()))
        t_ns.append(t)
        live_b.append(lb)
        live_k.append(lb // 300)
        used_b.append(int(lb * 1.18) + 32 * (lb // 300))
        heap_b.append(int(used_b[-1] * 1.3) + 135168)
    tg = te // 4

    prof = {"dhatFileVersion": 2, "mode": "heap", "verb": "Allocated", "bklt": True,
            "bkacc": False, "tu": "ns", "Mtu": "ms", "tuth": tuth,
            "cmd": "./synth --voices 64 --big-profile", "pid": 4242, "te": te, "tg": tg,
            "audioprof": {"version": 1, "reason": "exit", "signal": 0, "ppid": 4200,
                          "start_ns": 1000, "end_ns": 1000 + te, "depth": 32,
                          "own_bytes": 48 << 20, "peak_rss": 900 << 20, "threads": 6,
                          "totals": tot, "violations_lost": 0,
                          "callbacks": [jack, region], "violations": violations,
                          "timeline": {"period_ns": te // samples, "t_ns": t_ns, "live_b": live_b,
                                       "live_k": live_k, "heap_b": heap_b, "used_b": used_b}},
            "pps": pps, "ftbl": ftbl}
    with open(out, "w") as f:
        json.dump(prof, f, separators=(",", ":"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
