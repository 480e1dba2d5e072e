#!/usr/bin/env bash
# t_alloc_funcs.sh - every allocation function at its own site with exact tb/tbk/eb
# (tests/progs/allocfns.c: malloc calloc realloc reallocarray posix_memalign aligned_alloc
# memalign valloc pvalloc strdup strndup, failures that allocate nothing, malloc_usable_size
# on every kind of block) and every form of C++ new/delete (tests/progs/cxxnew.cc). The
# programs check alignment, contents and usable sizes themselves; output and exit status
# must match a run without the preload. tests/progs/freesized.c: blocks ended by C23's
# free_sized and free_aligned_sized and by the old cfree end in the profile too.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog allocfns cxxnew freesized
make_tmp

for prog in allocfns cxxnew freesized; do
	"$BIN/$prog" >"$tmp/native.out" 2>&1
	nrc=$?
	mkdir "$tmp/$prog"
	env AUDIOPROF_OUT="$tmp/$prog/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/$prog" >"$tmp/pre.out" 2>&1
	prc=$?
	[ $nrc -eq 0 ] || fail "$prog fails natively ($nrc)"
	[ $prc -eq $nrc ] || { cat "$tmp/pre.out"; fail "$prog exit status $prc under the preload, $nrc natively"; }
	cmp -s "$tmp/native.out" "$tmp/pre.out" || { diff "$tmp/native.out" "$tmp/pre.out"; fail "$prog output differs"; }
done

f=$(one_profile "$tmp/allocfns") || exit 1
echo "allocfns: $f"
check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1])
MB = 1 << 20
#              first            tb          kept
table = [
  ("m_plain",  "malloc",        123,        True),
  ("c_plain",  "calloc",        63,         False),
  ("r_null",   "realloc",       50,         False),
  ("m_grow",   "malloc",        100,        False),
  ("r_grow",   "realloc",       300,        False),
  ("m_shrink", "malloc",        400,        False),
  ("r_shrink", "realloc",       40,         False),
  ("m_zero",   "malloc",        64,         False),
  ("ra_new",   "reallocarray",  120,        False),
  ("ra_grow",  "reallocarray",  240,        False),
  ("pm_64",    "posix_memalign", 200,       False),
  ("pm_page",  "posix_memalign", 5000,      False),
  ("aa_128",   "aligned_alloc", 256,        False),
  ("ma_32",    "memalign",      300,        False),
  ("ma_big",   "memalign",      100,        False),
  ("va_site",  "valloc",        1000,       False),
  ("pv_site",  "pvalloc",       1000,       True),
  ("m_big",    "malloc",        MB + 5,     False),
  ("r_big",    "realloc",       2 * MB,     False),
]
for site, first, tb, kept in table:
    pp = expect_pp(p, site, tb=tb, tbk=1, mb=tb, mbk=1, eb=tb if kept else 0, ebk=1 if kept else 0)
    expect_chain(p, pp, first, site)
# A realloc chain at one site: each step frees the old block, then allocates the new one.
expect_chain(p, expect_pp(p, "m_loop", tb=16, tbk=1, mb=16, mbk=1, eb=0, ebk=0), "malloc", "m_loop")
expect_chain(p, expect_pp(p, "r_loop", tb=1040, tbk=10, mb=176, mbk=1, eb=0, ebk=0), "realloc", "r_loop")
# strdup/strndup allocate through malloc inside libc: malloc, (__)strdup, the site.
for site, tb in (("sd_site", 17), ("snd_site", 5)):
    pp = expect_pp(p, site, tb=tb, tbk=1, mb=tb, mbk=1, eb=0, ebk=0)
    if pp:
        fn = funcs(p, pp)
        eq(site + ": frame 0", fn[0], "malloc")
        ok(len(fn) > 2 and ("strdup" in fn[1] or "strndup" in fn[1]),
           "%s: frame 1 should be libc's strdup/strndup: %s" % (site, fn[:4]))
        ok(site in fn[1:4], "%s: site frame missing near the top: %s" % (site, fn[:4]))
# Calls that fail or free allocate nothing at their own site.
for site in ("c_overflow", "r_zero", "ra_overflow", "pm_bad"):
    expect_absent(p, site)
done()
PY

f=$(one_profile "$tmp/cxxnew") || exit 1
echo "cxxnew: $f"
check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1])
#                  first            tb    kept
table = [
  ("n_scalar",      "malloc",        24,   False),
  ("n_array",       "malloc",        100,  False),
  ("n_array_dtor",  "malloc",        72,   False),
  ("n_aligned",     "aligned_alloc", 128,  False),
  ("n_aligned_arr", "aligned_alloc", 384,  False),
  ("n_nothrow",     "malloc",        24,   False),
  ("n_nothrow_arr", "malloc",        33,   False),
  ("n_nothrow_al",  "aligned_alloc", 128,  False),
  ("n_opnew",       "malloc",        40,   False),
  ("n_keep",        "malloc",        77,   True),
]
for site, first, tb, kept in table:
    pp = expect_pp(p, site, tb=tb, tbk=1, mb=tb, mbk=1, eb=tb if kept else 0, ebk=1 if kept else 0)
    expect_chain(p, pp, first, site, middle=is_operator_new)
# std::vector<int>(1000): malloc, operator new, allocator frames..., v_site.
pp = expect_pp(p, "v_site", tb=4000, tbk=1, eb=0, ebk=0)
if pp:
    fn = funcs(p, pp)
    eq("v_site: frame 0", fn[0], "malloc")
    ok(is_operator_new(fn[1]), "v_site: frame 1 should be operator new: %s" % fn[:4])
done()
PY
f=$(one_profile "$tmp/freesized") || exit 1
echo "freesized: $f"
check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1])
expect_pp(p, "fs_plain", tb=500, tbk=5, eb=0, ebk=0)
expect_pp(p, "fs_align", tb=1280, tbk=5, eb=0, ebk=0)
expect_pp(p, "fs_cfree", tb=200, tbk=5, eb=0, ebk=0)
done()
PY
echo "ok"
