#!/usr/bin/env bash
# t_foreign.sh - blocks the profiler did not allocate (glibc's __libc_malloc,
# __libc_memalign, __libc_calloc, as before initialisation) are freed, realloc'd and
# sized through the interposed functions without harm; the realloc's new block is
# counted at its site (tests/progs/foreign.c).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog foreign
make_tmp

same_behaviour "$tmp/a" "$BIN/foreign" || fail "foreign behaves differently under the preload"
f=$(one_profile "$tmp/a") || exit 1
check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1])
pp = expect_pp(p, "r_foreign", tb=400, tbk=1, mb=400, mbk=1, eb=0, ebk=0)
expect_chain(p, pp, "realloc", "r_foreign")
expect_pp(p, "m_after", tb=32, tbk=1, eb=32, ebk=1)
done()
PY
echo "ok"
