#!/usr/bin/env python3
"""gen_evil.py - turns a real profile into a malicious one for the viewer's safety test:
every string a page shows (command line, frame strings, callback, thread, zone and call
names) becomes markup or script that would run if the viewer ever parsed it as HTML,
including "</script>" and "<!--<script>" that would break out of the element that
`audioprof view` embeds the profile in. The numbers stay valid, so the profile loads;
so do the violation kinds, a closed set that every audioprof command refuses to extend.

    gen_evil.py IN.json OUT.json

Each payload sets window.__pwned and calls alert(); the test checks neither happens and
that no <img>, <svg>, <iframe> or on* attribute appears in the page.
"""
import json
import sys

PAYLOADS = [
    "<script>window.__pwned=1;alert(1)</script>",
    "<img src=x onerror=\"window.__pwned=2;alert(2)\">",
    "</script><script>window.__pwned=3;alert(3)</script>",
    "<!--<script>window.__pwned=4</script>-->",
    "\"><svg onload=\"window.__pwned=5;alert(5)\">",
    "<iframe src=\"javascript:window.parent.__pwned=6\"></iframe>",
    "'; window.__pwned=7; '",
    "__proto__",
    "constructor",
    "line\u2028sep\u2029para",
]


def evil(i):
    return PAYLOADS[i % len(PAYLOADS)]


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(sys.argv[1]) as f:
        p = json.load(f)
    p["cmd"] = "./synth " + " ".join(PAYLOADS)
    # Frame strings keep DHAT's layout so that every part (function, file, module) is evil.
    for i in range(1, len(p["ftbl"])):
        if i % 2:
            p["ftbl"][i] = "0x%X: %s (%s.c:%d)" % (0x401000 + i, evil(i), evil(i + 1), i)
        else:
            p["ftbl"][i] = "0x%X: %s+0x1 (in /usr/lib/%s.so)" % (0x401000 + i, evil(i), evil(i + 3))
    ap = p.setdefault("audioprof", {"version": 1})
    for k, c in enumerate(ap.get("callbacks", [])):
        c["name"] = evil(k)
        c["api"] = evil(k + 1)
        c["thread"] = evil(k + 2)
        c["policy"] = evil(k + 3)
        for j, z in enumerate(c.get("zones", [])):
            z["name"] = evil(j + 4)
    for k, v in enumerate(ap.get("violations", [])):
        v["call"] = evil(k + 5)
    with open(sys.argv[2], "w") as f:
        json.dump(p, f, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
