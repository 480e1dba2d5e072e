"""audiochk.py - checks on the audio part of a profile ("audioprof.callbacks" and
"audioprof.violations", see man/audioprof-json.5 and common/profile_schema.h) for the
callback tests (t_jack.sh, t_portaudio.sh, t_sdl.sh). Failures go through aprof's
fail()/eq()/ok(), so done() reports them all at once.

    from aprof import *
    from audiochk import *
    p = load_audio(path)
    s = one_source(p, "jack", "apalloc")
    expect_source(s, allocs=30, frees=20)
    expect_violations(p, s, [("alloc", "malloc", 10, 1000, "cb_alloc"), ...])
"""

import re

import aprof
from aprof import eq, fail, frames, func_name, name_matches, ok

# glibc's dynamic loader inlines functions named elf_* (elf_machine_rela,
# elf_dynamic_do_Rela) into the stacks of allocations made while dlopen relocates a
# library; aprof.OWN_FUNC_RE's "elf_" (meant for libelf) takes them for the profiler's
# own frames. Programs that dlopen an audio library have such stacks.
_LDSO_FRAME_RE = re.compile(r"^(0x[0-9A-Fa-f]+: )?elf_(machine|dynamic)_\w* \((dl-machine|do-rel)\.h:\d+\)$")


def load_audio(path, **kw):
    """aprof.load_checked, with dlopen's relocation frames not taken for our own."""
    prof = aprof.load(path)
    shown = dict(prof)
    shown["ftbl"] = [("0x%X: ldso_reloc (in ld.so)" % i if isinstance(f, str) and _LDSO_FRAME_RE.match(f) else f)
                     for i, f in enumerate(prof.get("ftbl", []))]
    aprof.check_all(shown, **kw)
    return prof


SOURCE_INTS = ("id", "tid", "priority", "rate", "frames", "deadline_ns", "count", "min_ns",
               "mean_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "overruns",
               "near80", "near95", "period_mean_ns", "jitter_max_ns", "jitter_p99_ns",
               "xruns", "allocs", "frees", "alloc_bytes", "rt_unsafe")


def callbacks(prof):
    return (prof.get("audioprof") or {}).get("callbacks") or []


def violations(prof):
    return (prof.get("audioprof") or {}).get("violations") or []


def describe_source(s):
    return "%s %r count=%s allocs=%s frees=%s" % (s.get("api"), s.get("name"), s.get("count"),
                                                   s.get("allocs"), s.get("frees"))


def sources(prof, api, name=None):
    return [s for s in callbacks(prof)
            if s.get("api") == api and (name is None or s.get("name") == name)]


def one_source(prof, api, name=None):
    """The one callback source of `api` (and `name`); a failure and {} otherwise."""
    found = sources(prof, api, name)
    if len(found) != 1:
        fail("expected exactly one %s source%s, found %d; sources: %s" % (
            api, " named %r" % name if name else "", len(found),
            "; ".join(describe_source(s) for s in callbacks(prof)) or "none"))
        return {}
    s = found[0]
    for k in SOURCE_INTS:
        ok(type(s.get(k)) is int and s.get(k) >= 0,
           "source %r: %s not a non-negative integer: %r" % (s.get("name"), k, s.get(k)))
    if s.get("count"):
        ok(s["min_ns"] <= s["mean_ns"] <= s["max_ns"] and s["p50_ns"] <= s["p99_ns"] <= s["max_ns"],
           "source %r: min/mean/p50/p99/max out of order: %s" % (s.get("name"), s))
    return s


def expect_source(s, **want):
    for k, v in want.items():
        eq("source %r %s" % (s.get("name"), k), s.get(k), v)


def source_violations(prof, s):
    return [v for v in violations(prof) if v.get("callback") == s.get("id")]


def v_funcs(prof, v):
    return [func_name(f) for f in frames(prof, v)]


def expect_violations(prof, s, want, kinds=("alloc", "free")):
    """The source's violations of the given kinds are exactly `want`: a list of
    (kind, call, count, bytes, function on the stack). Order does not matter."""
    got = [v for v in source_violations(prof, s) if v.get("kind") in kinds]
    left = list(got)
    for kind, call, count, nbytes, func in want:
        match = None
        for v in left:
            if (v.get("kind"), v.get("call"), v.get("count"), v.get("bytes")) == (kind, call, count, nbytes) \
                    and any(name_matches(f, func) for f in v_funcs(prof, v)):
                match = v
                break
        if match is None:
            fail("source %r: no violation %s %s() x%d, %d bytes, with %s on its stack; got:%s" % (
                s.get("name"), kind, call, count, nbytes, func, describe_violations(prof, got)))
        else:
            left.remove(match)
            ok(match.get("severity") == "violation", "violation %s %s: severity %r" % (
                kind, call, match.get("severity")))
    if left:
        fail("source %r: unexpected violations:%s" % (s.get("name"), describe_violations(prof, left)))


def describe_violations(prof, vs):
    return "".join("\n      %s %s() x%s %sB cb=%s: %s" % (
        v.get("kind"), v.get("call"), v.get("count"), v.get("bytes"), v.get("callback"),
        " | ".join(v_funcs(prof, v)[:6])) for v in vs) or " none"


def no_violations_with(prof, func):
    """No violation at all has `func` on its stack."""
    bad = [v for v in violations(prof) if any(name_matches(f, func) for f in v_funcs(prof, v))]
    if bad:
        fail("violations with %s on the stack, expected none:%s" % (func, describe_violations(prof, bad)))


def expect_cb_pp(prof, func, cbk, cbb):
    """Sum of cbk/cbb over the pps with `func` on their stack."""
    from aprof import pps_with
    pps = pps_with(prof, func)
    ok(pps, "no pp with %s on its stack" % func)
    eq("%s: cbk (blocks allocated inside callbacks)" % func, sum(pp.get("cbk", 0) for pp in pps), cbk)
    eq("%s: cbb (bytes allocated inside callbacks)" % func, sum(pp.get("cbb", 0) for pp in pps), cbb)


def expect_jack_allocs(prof, s):
    """The exact numbers of tests/progs/audio/jack_allocs.c's callback source `s`: in 10
    callbacks, cb_alloc's malloc(100), strdup("hello") (6 bytes) and realloc to 200, then
    two frees; outside callbacks, 5 x malloc(1000) before activation (out_before) and
    3 x malloc(50) after closing (out_after). Used by t_jack and t_plugin_audio."""
    from aprof import expect_pp
    expect_source(s, allocs=30, frees=20, alloc_bytes=3060)
    expect_violations(prof, s, [
        ("alloc", "malloc", 10, 1000, "cb_alloc"),
        ("alloc", "malloc", 10, 60, "__strdup"),
        ("alloc", "realloc", 10, 2000, "cb_alloc"),
        ("free", "free", 10, 0, "cb_alloc"),
        ("free", "free", 10, 0, "cb_alloc"),
    ])
    expect_cb_pp(prof, "cb_alloc", 30, 3060)
    expect_pp(prof, "out_before", tbk=5, tb=5000, cbk=0, cbb=0)
    expect_pp(prof, "out_after", tbk=3, tb=150, cbk=0, cbb=0)


def expect_pa_allocs(prof, s):
    """The exact numbers of tests/progs/audio/pa_jack.c's PortAudio source `s`: 9 callbacks
    whose pa_alloc mallocs and frees 64 bytes; outside callbacks, out_pa's two malloc(777).
    Used by t_portaudio and t_plugin_audio."""
    from aprof import expect_pp
    expect_source(s, deadline_ns=10666666, rate=48000, allocs=9, frees=9, alloc_bytes=576)
    expect_violations(prof, s, [
        ("alloc", "malloc", 9, 576, "pa_alloc"),
        ("free", "free", 9, 0, "pa_alloc"),
    ])
    expect_cb_pp(prof, "pa_alloc", 9, 576)
    expect_pp(prof, "out_pa", tbk=2, tb=1554, cbk=0, cbb=0)
