#!/usr/bin/env python3
"""gen_big_profile.py - writes a large synthetic audioprof profile for the analyzer's
speed test (bench/analyzer_bench.sh) and for tests.

    gen_big_profile.py OUT.json [MEGABYTES] [--seed N]

The file is a valid profile (dhatFileVersion 2, audioprof.version 1) of about MEGABYTES
(default 100) MB: program points with 8 to 32 frames drawn from a frame table of plausible
DHAT-style frame strings, consistent per-pp numbers and totals that equal the sums, plus
two callbacks and a few violations. Written in one pass, with little memory, like the
preload writes it (the whole object on one line).
"""
import json
import random
import sys


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if not args:
        sys.stderr.write(__doc__)
        return 2
    out = args[0]
    mb = float(args[1]) if len(args) > 1 else 100.0
    seed = 1
    if "--seed" in sys.argv:
        seed = int(sys.argv[sys.argv.index("--seed") + 1])
    rnd = random.Random(seed)
    target = int(mb * 1e6)

    # About 45% of the bytes go to the frame table, the rest to the pps.
    nframes = max(16, int(target * 0.45 / 61))
    funcs = ["dsp_%s_%d" % (w, i) for i in range(4000)
             for w in ("mix", "filter", "grain", "voice")]
    ftbl = ["[root]", "0x4848899: malloc (in /usr/lib/audioprof/libaudioprof.so)",
            "0x484DCB0: calloc (in /usr/lib/audioprof/libaudioprof.so)",
            "0x48501A3: realloc (in /usr/lib/audioprof/libaudioprof.so)"]
    for i in range(len(ftbl), nframes):
        addr = 0x401000 + i * 16
        if i % 7 == 0:
            ftbl.append("0x%X: %s+0x%x (in /usr/lib/x86_64-linux-gnu/libfoo.so.%d)"
                        % (0x7F0000000000 + addr, rnd.choice(funcs), i % 4096, i % 9))
        else:
            ftbl.append("0x%X: %s (src/module_%d/file_%d.c:%d)"
                        % (addr, rnd.choice(funcs), i % 97, i % 1013, 10 + i % 2000))

    te = 60 * 10**9
    tot = dict(curr_b=0, curr_k=0, max_b=0, max_k=0, total_b=0, total_k=0, frees=0)
    with open(out, "w") as f:
        f.write('{"dhatFileVersion":2,"mode":"heap","verb":"Allocated","bklt":true,'
                '"bkacc":false,"tu":"ns","Mtu":"ms","tuth":1000000,'
                '"cmd":"./big_synth --render","pid":4242,"te":%d,"tg":%d,"pps":['
                % (te, te // 2))
        written = f.tell()
        budget = target - int(target * 0.45)
        n = 0
        while written < budget or n == 0:
            depth = rnd.randint(8, 32)
            fs = [rnd.randint(1, 3)] + [rnd.randint(4, nframes - 1) for _ in range(depth - 1)]
            tbk = rnd.randint(1, 100000)
            size = rnd.choice((16, 32, 64, 128, 256, 4096, 65536))
            tb = tbk * size
            ebk = rnd.randint(0, min(tbk, 3))
            gbk = rnd.randint(ebk, min(tbk, 10))
            mbk = max(gbk, ebk, 1)
            slk = rnd.randint(0, tbk - ebk)
            pp = {"tb": tb, "tbk": tbk, "tl": tbk * rnd.randint(1000, 10**9),
                  "mb": mbk * size, "mbk": mbk, "gb": gbk * size, "gbk": gbk,
                  "eb": ebk * size, "ebk": ebk, "slk": slk, "fs": fs, "ids": [n + 1]}
            s = json.dumps(pp, separators=(",", ":"))
            f.write(("," if n else "") + s)
            written += len(s) + 1
            n += 1
            tot["total_b"] += tb
            tot["total_k"] += tbk
            tot["curr_b"] += ebk * size
            tot["curr_k"] += ebk
            tot["max_b"] += gbk * size
            tot["max_k"] += gbk
            tot["frees"] += tbk - ebk
        f.write('],"ftbl":')
        f.write(json.dumps(ftbl, separators=(",", ":")))
        cbs = [{"id": i, "api": "jack", "name": "client%d" % i, "tid": 100 + i,
                "thread": "jack-rt", "policy": "SCHED_FIFO", "priority": 70, "rate": 48000,
                "frames": 512, "deadline_ns": 10666666, "count": 5625, "min_ns": 100000,
                "mean_ns": 300000, "p50_ns": 290000, "p90_ns": 400000, "p99_ns": 700000,
                "p999_ns": 900000, "max_ns": 1200000, "load_mean_pct": 2.8,
                "load_max_pct": 11.3, "overruns": 0, "near80": 0, "near95": 0,
                "period_mean_ns": 10666666, "jitter_max_ns": 20000, "jitter_p99_ns": 9000,
                "xruns": 0, "allocs": 0, "frees": 0, "alloc_bytes": 0, "rt_unsafe": 0}
               for i in range(2)]
        ap = {"version": 1, "reason": "exit", "signal": 0, "ppid": 1, "start_ns": 10**12,
              "end_ns": 10**12 + te, "depth": 32, "own_bytes": 10**8, "peak_rss": 10**9,
              "threads": 8, "totals": tot, "callbacks": cbs, "violations": []}
        f.write(',"audioprof":')
        f.write(json.dumps(ap, separators=(",", ":")))
        f.write("}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
