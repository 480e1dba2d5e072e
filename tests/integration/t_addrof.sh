#!/usr/bin/env bash
# t_addrof.sh - frame 0 names the interposed function (malloc, calloc, realloc) also in a
# non-PIE executable that takes those functions' addresses, where &malloc resolves to a
# canonical PLT stub inside the executable (as in Debian's /usr/bin/python3.11); the
# counts are exact either way. tests/progs/addrof.c, built PIE and with -no-pie.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog addrof
make_tmp

gcc -std=gnu11 -O0 -g -fno-builtin -fno-optimize-sibling-calls -fno-inline -fno-pie -no-pie \
	-o "$tmp/addrof-nopie" "$PROGS/addrof.c" || fail "cannot build addrof with -no-pie"
for exe in "$BIN/addrof" "$tmp/addrof-nopie"; do
	d=$tmp/out-$(basename "$exe")
	same_behaviour "$d" "$exe" || fail "$(basename "$exe") behaves differently under the preload"
	f=$(one_profile "$d") || exit 1
	echo "$(basename "$exe"): $f"
	check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1])
expect_chain(p, expect_pp(p, "a_direct", tb=20, tbk=2, eb=10, ebk=1), "malloc", "a_direct")
expect_chain(p, expect_pp(p, "a_ptr", tb=60, tbk=3, eb=60, ebk=3), "malloc", "a_ptr")
expect_chain(p, expect_pp(p, "a_calloc", tb=32, tbk=1, eb=0, ebk=0), "calloc", "a_calloc")
expect_chain(p, expect_pp(p, "a_realloc", tb=100, tbk=1, eb=100, ebk=1), "realloc", "a_realloc")
done()
PY
done
echo "ok"
