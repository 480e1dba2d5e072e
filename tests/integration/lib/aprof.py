"""aprof.py - checks on audioprof profiles for the integration tests.

Load a profile, find the program point (pp) whose frames name a function, compare its
fields with exact expectations, and check the whole file against the rules valgrind's
dh_view applies plus audioprof's own invariants (totals == sums over the pps, and so on).

Failures are collected, not raised: every check prints one clear line on failure, and
done() prints a summary and exits 1 if anything failed (0 otherwise), so one run shows
every wrong number at once.

    from aprof import *
    p = load(path)
    check_all(p)
    expect_pp(p, "site_a", tb=1000, tbk=10, eb=500)
    done()
"""

import json
import os
import re
import sys

PP_FIELDS = ("tb", "tbk", "tl", "mb", "mbk", "gb", "gbk", "eb", "ebk")
TOTALS_FIELDS = ("curr_b", "curr_k", "max_b", "max_k", "total_b", "total_k", "frees")
REASONS = ("exit", "_exit", "exec", "snapshot", "signal")
# Functions the profile may show as a pp's first frame: the interposed entry points.
ALLOC_FUNCS = ("malloc", "calloc", "realloc", "reallocarray", "posix_memalign",
               "aligned_alloc", "memalign", "valloc", "pvalloc")
# The profiler's own code and libraries: none of this may appear below frame 0.
OWN_FUNC_RE = re.compile(r"^(profile_|symbols_|stacks_|sites_|runtime_|options_|blocks_|"
                         r"log_msg|json_|unw_|_U[Lx]|_ULx86_64|dwfl_|dwarf_|__libdw|elf_(?!machine_|dynamic_))")
OWN_MODULE_RE = re.compile(r"libaudioprof|libdw[.-]|libjansson|libunwind|libelf[.-]")
OWN_SOURCE_RE = re.compile(r"\((shim|runtime|sites|stacks|symbols|profile|options|log)\.c:\d+\)$")

_failures = []
_label = os.environ.get("APROF_LABEL", "")


def fail(msg):
    """Record a failure (printed at once)."""
    _failures.append(msg)
    print("  FAIL: " + msg)


def info(msg):
    print("  " + msg)


def ok(cond, msg):
    if not cond:
        fail(msg)
    return bool(cond)


def eq(what, got, want):
    if type(got) is not type(want) or got != want:
        fail("%s: got %r, expected %r" % (what, got, want))
        return False
    return True


def done():
    """Print the summary; exit 1 if any check failed."""
    if _failures:
        print("  %d check(s) failed" % len(_failures))
        sys.exit(1)
    sys.exit(0)


def is_int(v):
    return type(v) is int


# ---------------------------------------------------------------------------------------
# Loading and frames

def load(path):
    """Parse a profile; a file that does not parse is a failure that ends the test."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        fail("cannot read profile %s: %s" % (path, e))
        done()
    try:
        prof = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        fail("profile %s is not valid JSON: %s (%d bytes)" % (path, e, len(data)))
        done()
    if not isinstance(prof, dict):
        fail("profile %s: top level is not an object" % path)
        done()
    prof["_path"] = path
    return prof


def func_name(frame):
    """'0x4011A6: site_a (t.c:3)' -> 'site_a'; '0x7F..: foo+0x1f (in /lib/x.so)' -> 'foo'."""
    s = frame
    m = re.match(r"^0x[0-9A-Fa-f]+: ", s)
    if m:
        s = s[m.end():]
    if s.endswith(")"):
        i = s.rfind(" (")
        if i > 0:
            s = s[:i]
    s = re.sub(r"\+0x[0-9A-Fa-f]+$", "", s)
    return s


def name_matches(func, name):
    """A C name matches exactly; a demangled C++ name 'f(int)' matches 'f'."""
    return func == name or func.startswith(name + "(")


def frames(prof, pp):
    ftbl = prof.get("ftbl", [])
    out = []
    for i in pp.get("fs", []):
        out.append(ftbl[i] if is_int(i) and 0 <= i < len(ftbl) else "<bad index %r>" % (i,))
    return out


def funcs(prof, pp):
    return [func_name(f) for f in frames(prof, pp)]


def describe(prof, pp, limit=6):
    fr = frames(prof, pp)
    s = " | ".join(fr[:limit]) + (" | ..." if len(fr) > limit else "")
    vals = " ".join("%s=%s" % (k, pp.get(k)) for k in PP_FIELDS)
    return "[%s] %s" % (vals, s)


def pps_with(prof, name, count=None):
    """All pps with a frame naming `name`; with count, those with exactly `count` such frames."""
    out = []
    for pp in prof.get("pps", []):
        n = sum(1 for f in funcs(prof, pp) if name_matches(f, name))
        if n and (count is None or n == count):
            out.append(pp)
    return out


def pp_with(prof, name, also=None, count=None):
    """The one pp whose frames name `name` (and `also`, if given); a failure and None
    if there is none or more than one."""
    cands = pps_with(prof, name, count)
    if also is not None:
        cands = [pp for pp in cands if any(name_matches(f, also) for f in funcs(prof, pp))]
    what = name + (" + " + also if also else "") + (" x%d" % count if count else "")
    if len(cands) != 1:
        fail("%s: expected exactly one pp with frame %s, found %d%s" % (
            os.path.basename(prof.get("_path", "?")), what, len(cands),
            "".join("\n      " + describe(prof, pp) for pp in cands)))
        return None
    return cands[0]


def expect_pp(prof, name, also=None, count=None, **want):
    """Find the pp of `name` and check each given field exactly; returns the pp or None."""
    pp = pp_with(prof, name, also, count)
    if pp is None:
        return None
    label = name + (" + " + also if also else "") + (" x%d" % count if count else "")
    for k, v in want.items():
        eq("%s.%s" % (label, k), pp.get(k), v)
    return pp


def check_timed(prof, kind, n):
    """The violations of `kind` ("alloc", "free"): n calls in all, each violation with
    a total and a longest time inside its calls, 0 < longest <= total, and all of them
    within the callbacks' own time (count x mean, give or take its rounding)."""
    vs = [v for v in prof.get("audioprof", {}).get("violations", []) if v.get("kind") == kind]
    eq("%s violations: calls" % kind, sum(v.get("count", 0) for v in vs), n)
    cbs = prof.get("audioprof", {}).get("callbacks", [])
    cb_ns = sum(c.get("count", 0) * (c.get("mean_ns", 0) + 1) for c in cbs)
    for v in vs:
        tot, mx = v.get("time_ns"), v.get("time_max_ns")
        if ok(is_int(tot) and is_int(mx), "%s violation: time_ns %r, time_max_ns %r" % (kind, tot, mx)):
            ok(0 < mx <= tot <= cb_ns, "%s violation: longest %d, total %d, callbacks' time %d"
               % (kind, mx, tot, cb_ns))


def expect_absent(prof, name):
    """No pp with a frame naming `name` has any allocation."""
    for pp in pps_with(prof, name):
        if pp.get("tbk", 0) != 0 or pp.get("tb", 0) != 0:
            fail("%s: expected no allocation recorded, got %s" % (name, describe(prof, pp)))


def expect_chain(prof, pp, first, site, middle=None, label=None):
    """Frame 0 is the interposed function `first`; then, if `middle` (a predicate) is
    given, one or more frames it accepts; then the frame of `site`."""
    if pp is None:
        return
    label = label or site
    fn = funcs(prof, pp)
    if not fn:
        fail("%s: empty frame list" % label)
        return
    eq("%s: frame 0 function" % label, fn[0], first)
    i = 1
    if middle is not None:
        while i < len(fn) and middle(fn[i]):
            i += 1
        ok(i > 1, "%s: expected a libstdc++ frame after %s, frames: %s" % (label, first, fn[:6]))
    ok(i < len(fn) and name_matches(fn[i], site),
       "%s: expected frame %d to be %s, frames: %s" % (label, i, site, fn[:8]))


def is_operator_new(f):
    return f.startswith("operator new") or f.startswith("_Znw") or f.startswith("_Zna")


# ---------------------------------------------------------------------------------------
# Whole-profile checks

def check_format(prof):
    """The rules of valgrind's dh_view (checkFields/checkPP/buildTree) and audioprof's
    documented extra fields."""
    name = os.path.basename(prof.get("_path", "?"))
    eq(name + " dhatFileVersion", prof.get("dhatFileVersion"), 2)
    eq(name + " mode", prof.get("mode"), "heap")
    eq(name + " verb", prof.get("verb"), "Allocated")
    eq(name + " bklt", prof.get("bklt"), True)
    eq(name + " bkacc", prof.get("bkacc"), False)
    eq(name + " tu", prof.get("tu"), "ns")
    eq(name + " Mtu", prof.get("Mtu"), "ms")
    ok(isinstance(prof.get("cmd"), str), name + " cmd is not a string")
    for k in ("tuth", "pid", "te", "tg"):
        ok(is_int(prof.get(k)) and prof.get(k) >= 0, "%s %s not a non-negative integer: %r"
           % (name, k, prof.get(k)))
    te, tg = prof.get("te"), prof.get("tg")
    if is_int(te) and is_int(tg):
        ok(0 <= tg <= te, "%s: expected 0 <= tg <= te, got tg=%d te=%d" % (name, tg, te))
    ftbl = prof.get("ftbl")
    pps = prof.get("pps")
    if not ok(isinstance(ftbl, list) and ftbl and ftbl[0] == "[root]",
              name + ": ftbl must be a list starting with \"[root]\""):
        return
    if not ok(isinstance(pps, list), name + ": pps is not a list"):
        return
    ok(all(isinstance(s, str) for s in ftbl), name + ": ftbl has a non-string entry")
    ok(len(set(ftbl)) == len(ftbl), name + ": ftbl has repeated frame strings")
    seen = {}
    for n, pp in enumerate(pps):
        if not ok(isinstance(pp, dict), "%s: pps[%d] is not an object" % (name, n)):
            continue
        for k in PP_FIELDS:
            v = pp.get(k)
            ok(is_int(v) and v >= 0, "%s pps[%d].%s not a non-negative integer: %r" % (name, n, k, v))
        fs = pp.get("fs")
        if not ok(isinstance(fs, list) and len(fs) > 0, "%s pps[%d].fs empty or missing" % (name, n)):
            continue
        ok(all(is_int(i) and 0 < i < len(ftbl) for i in fs),
           "%s pps[%d].fs has an index outside 1..%d: %r" % (name, n, len(ftbl) - 1, fs))
        key = tuple(fs)
        if key in seen:
            fail("%s: pps[%d] and pps[%d] have the same fs (dh_view: repeated location)"
                 % (name, seen[key], n))
        seen[key] = n
        if "slk" in pp:
            ok(is_int(pp["slk"]) and pp["slk"] >= 0, "%s pps[%d].slk not an integer" % (name, n))
        if "ids" in pp:
            ok(isinstance(pp["ids"], list) and pp["ids"] and all(is_int(i) and i > 0 for i in pp["ids"]),
               "%s pps[%d].ids not a list of site ids: %r" % (name, n, pp["ids"]))
    ap = prof.get("audioprof")
    if not ok(isinstance(ap, dict), name + ": no \"audioprof\" object"):
        return
    eq(name + " audioprof.version", ap.get("version"), 1)
    ok(ap.get("reason") in REASONS, "%s audioprof.reason %r not one of %s" % (name, ap.get("reason"), REASONS))
    for k in ("signal", "ppid", "start_ns", "end_ns", "depth", "own_bytes", "peak_rss", "threads"):
        ok(is_int(ap.get(k)) and ap.get(k) >= 0, "%s audioprof.%s not a non-negative integer: %r"
           % (name, k, ap.get(k)))
    if is_int(ap.get("end_ns")) and is_int(ap.get("start_ns")) and is_int(te):
        eq(name + " te == audioprof.end_ns - start_ns", te, ap["end_ns"] - ap["start_ns"])
    tot = ap.get("totals")
    if ok(isinstance(tot, dict), name + ": no audioprof.totals"):
        for k in TOTALS_FIELDS:
            ok(is_int(tot.get(k)) and tot.get(k) >= 0, "%s audioprof.totals.%s not a non-negative integer: %r"
               % (name, k, tot.get(k)))


def check_consistency(prof, totals=True, lifetimes=True):
    """Per-pp inequalities, and (totals=True, for a quiescent process) totals == sums."""
    name = os.path.basename(prof.get("_path", "?"))
    pps = [pp for pp in prof.get("pps", []) if isinstance(pp, dict)]
    te = prof.get("te") if is_int(prof.get("te")) else 0
    for pp in pps:
        g = lambda k: pp.get(k) if is_int(pp.get(k)) else 0
        d = describe(prof, pp, 3)
        ok(g("mb") <= g("tb") and g("mbk") <= g("tbk"), "%s: mb/mbk above tb/tbk: %s" % (name, d))
        ok(g("gb") <= g("mb") and g("gbk") <= g("mbk"), "%s: gb/gbk above mb/mbk: %s" % (name, d))
        ok(g("eb") <= g("mb") and g("ebk") <= g("mbk"), "%s: eb/ebk above mb/mbk: %s" % (name, d))
        ok(g("mbk") > 0 or g("mb") == 0, "%s: mb > 0 with mbk 0: %s" % (name, d))
        if "slk" in pp and is_int(pp["slk"]):
            ok(pp["slk"] <= g("tbk") - g("ebk"), "%s: slk %d > freed blocks: %s" % (name, pp["slk"], d))
        if lifetimes:
            ok(g("tl") <= g("tbk") * te, "%s: tl %d > tbk*te (%d*%d): %s" % (name, g("tl"), g("tbk"), te, d))
    tot = (prof.get("audioprof") or {}).get("totals")
    if not totals or not isinstance(tot, dict):
        return
    sums = {
        "total_b": sum(pp.get("tb", 0) for pp in pps), "total_k": sum(pp.get("tbk", 0) for pp in pps),
        "curr_b": sum(pp.get("eb", 0) for pp in pps), "curr_k": sum(pp.get("ebk", 0) for pp in pps),
        "max_b": sum(pp.get("gb", 0) for pp in pps), "max_k": sum(pp.get("gbk", 0) for pp in pps),
    }
    for k, v in sums.items():
        eq("%s audioprof.totals.%s == sum over pps" % (name, k), tot.get(k), v)
    eq("%s audioprof.totals.frees == total_k - curr_k" % name, tot.get("frees"),
       sums["total_k"] - sums["curr_k"])
    if is_int(tot.get("max_b")) and is_int(tot.get("curr_b")):
        ok(tot["max_b"] >= tot["curr_b"], "%s: totals.max_b < curr_b" % name)


def _report_pps(prof, bad, what):
    """One failure for a list of offending pps: the count and the first three."""
    if bad:
        name = os.path.basename(prof.get("_path", "?"))
        fail("%s: %d pp(s) %s, e.g.:%s" % (name, len(bad), what,
             "".join("\n      " + describe(prof, pp, 8) for pp in bad[:3])))


def check_no_own_frames(prof):
    """The profiler's own allocations never appear: no frame below frame 0 lies in
    audioprof or the libraries it calls (libdw, libelf, libunwind, jansson)."""
    bad = []
    for pp in prof.get("pps", []):
        for i, f in enumerate(frames(prof, pp)):
            fn = func_name(f)
            own = (OWN_FUNC_RE.match(fn) or ("profile_write" in f) or ("symbols_resolve" in f)
                   or ("json_" in f))
            if i > 0:
                own = own or OWN_MODULE_RE.search(f) or OWN_SOURCE_RE.search(f)
            if own:
                bad.append(pp)
                break
    _report_pps(prof, bad, "with a frame of the profiler's own code or libraries")


def check_first_frames(prof):
    """Every pp starts at an interposed allocation function (operator new too, where
    the program's allocator library defines it: t_allocators)."""
    def first_ok(fn):
        return fn in ALLOC_FUNCS or is_operator_new(fn)
    bad = [pp for pp in prof.get("pps", []) if not first_ok((funcs(prof, pp) or ["?"])[0])]
    _report_pps(prof, bad, "whose frame 0 is not an interposed allocation function (%s, "
                "operator new)" % "/".join(ALLOC_FUNCS))


def check_all(prof, totals=True, lifetimes=True, first_frames=True):
    check_format(prof)
    check_consistency(prof, totals=totals, lifetimes=lifetimes)
    check_no_own_frames(prof)
    if first_frames:
        check_first_frames(prof)


def reason(prof):
    return (prof.get("audioprof") or {}).get("reason")


def load_checked(path, **kw):
    p = load(path)
    check_all(p, **kw)
    return p
