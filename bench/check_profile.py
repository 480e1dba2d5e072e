#!/usr/bin/env python3
"""check_profile.py - compare a DHAT-format heap profile (audioprof's or valgrind DHAT's)
with allocbench's own count of its allocation calls.

usage: check_profile.py [--totals-only] PROFILE.json ALLOCBENCH_STDOUT

ALLOCBENCH_STDOUT is what `allocbench -s` printed: the result line and one
"site N KIND calls=C bytes=B" line per site. Every program point whose stack holds a
frame of bench_site_N is charged to site N; per site, the sum of tbk must equal the
calls and the sum of tb the bytes (a realloc counts as one new block of the new size,
as in DHAT). --totals-only compares only the sums over all sites: valgrind's DHAT
charges a realloc to the program point that first allocated the block, not to the
realloc call's stack, so its per-site figures differ by design. Allocations by libc itself (stdio, thread start) have no bench_site_ frame
and are listed but not compared. Exit 0 if every site matches, 1 if not, 2 on bad input.
"""

import json
import re
import sys

SITE_FRAME = re.compile(r"\bbench_site_(\d+)\b")
SITE_LINE = re.compile(r"^site (\d+) (\w+) calls=(\d+) bytes=(\d+)$")
RESULT_LINE = re.compile(r"^allocbench: .*alloc_calls=(\d+) alloc_bytes=(\d+)")


def main(argv):
    totals_only = len(argv) > 1 and argv[1] == "--totals-only"
    if totals_only:
        argv = argv[:1] + argv[2:]
    if len(argv) != 3:
        print(next(l for l in __doc__.splitlines() if l.startswith("usage:")), file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as f:
            prof = json.load(f)
        with open(argv[2]) as f:
            lines = f.read().splitlines()
    except (OSError, ValueError) as e:
        print(f"check_profile: {e}", file=sys.stderr)
        return 2

    want = {}              # site -> (calls, bytes)
    total = None
    for line in lines:
        m = SITE_LINE.match(line)
        if m:
            want[int(m.group(1))] = (int(m.group(3)), int(m.group(4)))
        m = RESULT_LINE.match(line)
        if m:
            total = (int(m.group(1)), int(m.group(2)))
    if total is None or not want:
        print(f"check_profile: {argv[2]}: no allocbench -s output", file=sys.stderr)
        return 2

    if prof.get("dhatFileVersion") != 2 or "pps" not in prof or "ftbl" not in prof:
        print(f"check_profile: {argv[1]}: not a DHAT v2 heap profile", file=sys.stderr)
        return 2
    ftbl = prof["ftbl"]
    got = {}               # site -> [tbk, tb]
    other_k = other_b = 0
    bad_pp = 0
    for pp in prof["pps"]:
        sites = {int(m.group(1)) for i in pp["fs"]
                 for m in [SITE_FRAME.search(ftbl[i])] if m}
        if len(sites) > 1:
            bad_pp += 1    # one allocation cannot be inside two sites
            continue
        if not sites:
            other_k += pp["tbk"]
            other_b += pp["tb"]
            continue
        g = got.setdefault(sites.pop(), [0, 0])
        g[0] += pp["tbk"]
        g[1] += pp["tb"]

    errors = []
    if bad_pp:
        errors.append(f"{bad_pp} program points hold frames of two different sites")
    for site in [] if totals_only else sorted(set(want) | set(got)):
        w = want.get(site, (0, 0))
        g = tuple(got.get(site, (0, 0)))
        if w != g:
            errors.append(f"site {site}: allocbench made {w[0]} calls / {w[1]} bytes, "
                          f"profile has tbk {g[0]} / tb {g[1]}")
    sum_k = sum(g[0] for g in got.values())
    sum_b = sum(g[1] for g in got.values())
    if (sum_k, sum_b) != total:
        errors.append(f"totals: allocbench made {total[0]} calls / {total[1]} bytes, "
                      f"profile has tbk {sum_k} / tb {sum_b}")
    print(f"profile {argv[1]}: {len(prof['pps'])} program points; bench sites: "
          f"tbk {sum_k} (allocbench: {total[0]}), tb {sum_b} (allocbench: {total[1]}); "
          f"other allocations (libc, start-up): {other_k} blocks, {other_b} bytes")
    for e in errors[:20]:
        print(f"  MISMATCH {e}")
    if len(errors) > 20:
        print(f"  ... and {len(errors) - 20} more")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
