#!/usr/bin/env bash
# t_allocators.sh - programs that bring their own allocator library (jemalloc, tcmalloc:
# shared libraries that define malloc, free and the C++ operators new and delete
# themselves) keep it under the preload and are profiled exactly:
#  - a C program calling malloc, calloc, realloc, memalign, posix_memalign,
#    aligned_alloc and valloc at known sites, and tests/progs/cxxnew.cc (every form of
#    new/delete), each linked against glibc's malloc alone, libjemalloc and
#    libtcmalloc_minimal (and cxxnew against libmimalloc, which defines only part of
#    the operator family), behave as natively under the preload, and every site has the
#    same tb, tbk, eb, ebk, mb, mbk, gb and gbk whatever the allocator (the known
#    answers: the C sites below; cxxnew's, checked by t_alloc_funcs); new and new[]
#    of these allocators (their operator new never calls malloc) are recorded at the
#    operator itself;
#  - a C program that dlopens a C++ plugin (RTLD_LOCAL; the plugin's libstdc++ shared,
#    or linked in statically) runs as natively and its new, new[] and std::vector
#    allocations are recorded exactly;
#  - an allocator library without malloc_usable_size: usable sizes stay sane and
#    realloc of its own blocks keeps their contents;
#  - jemalloc preloaded before libaudioprof.so, and a program that defines malloc
#    itself, take every call from the profiler: one message names them;
#  - a program that uses jemalloc's own API on blocks of malloc and frees its mallocx
#    blocks with free() runs as natively (it crashed when the preload put glibc's malloc
#    under it), and every profile names its allocator (audioprof.allocator).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog cxxnew
make_tmp
for h in /usr/include/jemalloc/jemalloc.h /usr/include/gperftools/tcmalloc.h /usr/include/mimalloc.h; do
	[ -f "$h" ] || fail "$h missing: run scripts/install-deps.sh (libjemalloc-dev, libgoogle-perftools-dev, libmimalloc-dev)"
done

cat >"$tmp/cfns.c" <<'C'
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define NOINLINE __attribute__((noinline))
static void *volatile keep;
NOINLINE void *c_malloc(void) { return malloc(123); }
NOINLINE void *c_calloc(void) { return calloc(7, 9); }
NOINLINE void *c_realloc(void *p) { return realloc(p, 300); }
NOINLINE void *c_memalign(void) { return memalign(64, 200); }
NOINLINE void *c_posix(void) { void *p; return posix_memalign(&p, 128, 50) ? NULL : p; }
NOINLINE void *c_aligned(void) { return aligned_alloc(256, 512); }
NOINLINE void *c_valloc(void) { return valloc(1000); }
NOINLINE void *c_keep(void) { return malloc(77); }
int main(void)
{
	for (int i = 0; i < 10; i++) {
		char *m = c_malloc();
		char *z = c_calloc();
		int zero = 1;
		for (int k = 0; k < 63; k++)
			zero &= z[k] == 0;
		memset(m, 1, 123);
		m = c_realloc(m);
		void *a = c_memalign(), *b = c_posix(), *c = c_aligned(), *d = c_valloc();
		if (!m || !zero || !a || !b || !c || !d || (size_t)a % 64 || (size_t)b % 128 ||
		    (size_t)c % 256 || (size_t)d % 4096 || malloc_usable_size(m) < 300 ||
		    malloc_usable_size(c) < 512 || m[122] != 1) {
			puts("cfns: wrong block");
			return 1;
		}
		free(m); free(z); free(a); free(b); free(c); free(d);
	}
	keep = c_keep();
	puts("cfns ok");
	return 0;
}
C
# The same flags as tests/Makefile, linked against each allocator ("libc": none).
for lib in libc jemalloc tcmalloc_minimal; do
	l=; [ $lib = libc ] || l=-l$lib
	gcc $PROG_CFLAGS -o "$tmp/cfns-$lib" "$tmp/cfns.c" $PROG_LIBS $l ||
		fail "cannot build cfns against $lib"
	[ $lib = libc ] && continue
	g++ $PROG_CXXFLAGS -I"$ROOT/preload" -o "$tmp/cxxnew-$lib" "$PROGS/cxxnew.cc" $PROG_LIBS $l ||
		fail "cannot build cxxnew against lib$lib"
done
cp "$BIN/cxxnew" "$tmp/cxxnew-libc"
# mimalloc defines only operator new(size_t) and delete(void *) of the family: the rest
# reach malloc through libstdc++. (The C program is not run on it: mimalloc 2.0 lacks
# aligned_alloc and valloc, and natively mixes glibc's blocks with its own.)
g++ $PROG_CXXFLAGS -I"$ROOT/preload" -o "$tmp/cxxnew-mimalloc" "$PROGS/cxxnew.cc" $PROG_LIBS -lmimalloc ||
	fail "cannot build cxxnew against libmimalloc"
cat >"$tmp/jeapi.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <jemalloc/jemalloc.h>
int main(void)
{
	void *volatile a = malloc(100);
	printf("usable %d\n", malloc_usable_size(a) >= 100);
	void *volatile b = mallocx(200, 0);           /* jemalloc's own API ... */
	printf("sallocx(b) %d\n", sallocx(b, 0) >= 200);
	free(b);                                       /* ... and free() of its block */
	void *volatile c = calloc(10, 10);
	c = realloc(c, 1000);
	printf("usable %d\n", malloc_usable_size(c) >= 1000);
	free(c);
	free(a);
	puts("done");
	return 3;
}
C
gcc -O1 -g -o "$tmp/jeapi" "$tmp/jeapi.c" -ljemalloc || fail "cannot build jeapi"

# A C host that dlopens a C++ plugin with RTLD_LOCAL: the plugin's operator new binds
# to the preload's, whose next definition (the plugin's libstdc++, or its own static
# copy) is outside the global scope that RTLD_NEXT searches.
cat >"$tmp/plug.cc" <<'CC'
#include <new>
#include <vector>
extern "C" __attribute__((noinline)) long p_new(void) { long *p = new long[25]; long r = (long)p[0] * 0 + 25; delete[] p; return r; }
extern "C" __attribute__((noinline)) long p_vec(void) { std::vector<int> v(1000); return (long)v.size(); }
static char *volatile kept;
extern "C" __attribute__((noinline)) long p_keep(void) { kept = new char[77]; return 77; }
extern "C" long plug_run(void) { long t = 0; for (int i = 0; i < 4; i++) t += p_new() + p_vec(); return t + p_keep(); }
CC
cat >"$tmp/host.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	(void)argc;
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
	long (*run)(void) = (long (*)(void))dlsym(h, "plug_run");
	printf("plug_run %ld\n", run ? run() : -1L);
	return 0;
}
C
g++ $PROG_CXXFLAGS -fPIC -shared -o "$tmp/libplug.so" "$tmp/plug.cc" || fail "cannot build libplug.so"
g++ $PROG_CXXFLAGS -fPIC -shared -static-libstdc++ -o "$tmp/libplugst.so" "$tmp/plug.cc" ||
	fail "cannot build libplugst.so"
gcc $PROG_CFLAGS -o "$tmp/host" "$tmp/host.c" -ldl || fail "cannot build host"

# Same output and exit status as natively.
run_both() {   # profile directory, program, arguments
	local dir=$1 prog=$2
	shift 2
	"$prog" "$@" >"$tmp/native.out" 2>&1
	local nrc=$?
	mkdir -p "$dir"
	env AUDIOPROF_OUT="$dir/p.%p.json" LD_PRELOAD="$PRELOAD" "$prog" "$@" >"$tmp/pre.out" 2>&1
	local prc=$?
	[ $prc -eq $nrc ] || { cat "$tmp/pre.out"; fail "${prog##*/}: exit status $prc under the preload, $nrc natively"; }
	cmp -s "$tmp/native.out" "$tmp/pre.out" ||
		{ diff "$tmp/native.out" "$tmp/pre.out"; fail "${prog##*/}: output differs under the preload"; }
}
for lib in libc jemalloc tcmalloc_minimal; do
	run_both "$tmp/p-cfns-$lib" "$tmp/cfns-$lib"
	run_both "$tmp/p-cxxnew-$lib" "$tmp/cxxnew-$lib"
done
run_both "$tmp/p-cxxnew-mimalloc" "$tmp/cxxnew-mimalloc"
run_both "$tmp/p-jeapi" "$tmp/jeapi"
run_both "$tmp/p-plug" "$tmp/host" "$tmp/libplug.so"
run_both "$tmp/p-plugst" "$tmp/host" "$tmp/libplugst.so"

for prog in cfns cxxnew; do
	ref=$(one_profile "$tmp/p-$prog-libc") || exit 1
	libs="jemalloc tcmalloc_minimal"
	[ $prog = cxxnew ] && libs="$libs mimalloc"
	for lib in $libs; do
		f=$(one_profile "$tmp/p-$prog-$lib") || exit 1
		echo "$prog-$lib: $f"
		check_py "$ref" "$f" "$prog" "$lib" <<'PY' || exit 1
ref = load_checked(sys.argv[1])
p = load_checked(sys.argv[2])
prog, lib = sys.argv[3], sys.argv[4]
src = prog + (".cc" if prog == "cxxnew" else ".c")
if prog == "cfns":
    # the known answers: 10 rounds, all freed but c_keep's block
    kn = {"c_malloc": 1230, "c_calloc": 630, "c_realloc": 3000, "c_memalign": 2000,
          "c_posix": 500, "c_aligned": 5120, "c_valloc": 10000}
    for site, tb in kn.items():
        expect_pp(p, site, tb=tb, tbk=10, eb=0, ebk=0)
    expect_pp(p, "c_keep", tb=77, tbk=1, eb=77, ebk=1)
eq("allocator", p["audioprof"].get("allocator"), "lib%s.so.4" % lib if lib.startswith("tc") else "lib%s.so.2" % lib)
# operator new(size_t) is the allocator's in all three; new[] only in jemalloc's and tcmalloc's
at_op = ("n_scalar", "n_opnew") + (() if lib == "mimalloc" else ("n_array", "n_aligned", "n_nothrow", "n_keep"))
eq("allocator (glibc)", ref["audioprof"].get("allocator"), "libc")
FIELDS = ("tb", "tbk", "eb", "ebk", "mb", "mbk", "gb", "gbk")
def by_site(prof):
    """Each pp under its innermost frame in the program's own source; pps above
    main only (the C library's start-up is not the program's)."""
    out = {}
    for pp in prof["pps"]:
        fr = frames(prof, pp)
        fn = funcs(prof, pp)
        own = [i for i, f in enumerate(fr) if ("(" + src + ":") in f]
        if not own:
            continue
        key = fn[own[0]]
        v = out.setdefault(key, dict.fromkeys(FIELDS, 0))
        for k in FIELDS:
            v[k] += pp.get(k, 0)
    return out
a, b = by_site(ref), by_site(p)
ok(len(a) >= (8 if prog == "cfns" else 10), "%s: only %d sites in the program's code" % (prog, len(a)))
eq("%s-%s: sites" % (prog, lib), sorted(b), sorted(a))
for site in sorted(a):
    if site in b:
        eq("%s-%s %s" % (prog, lib, site), b[site], a[site])
if prog == "cxxnew":
    # new and new[] of the allocator itself: recorded at our operator new
    for site in at_op:
        pp = pp_with(p, site)
        if pp:
            fn = funcs(p, pp)
            ok(is_operator_new(fn[0]) and name_matches(fn[1], site),
               "%s-%s %s: frames should be operator new, %s: %s" % (prog, lib, site, site, fn[:4]))
done()
PY
	done
done

f=$(one_profile "$tmp/p-jeapi") || exit 1
check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1])
eq("allocator", p["audioprof"].get("allocator"), "libjemalloc.so.2")
# malloc 100 and calloc 100 -> realloc 1000, all freed; mallocx is jemalloc's own
mains = [pp for pp in p["pps"] if any(name_matches(f, "main") for f in funcs(p, pp))
         and funcs(p, pp)[1:2] == ["main"]]
tb = sum(pp["tb"] for pp in mains)
tbk = sum(pp["tbk"] for pp in mains)
eq("jeapi: bytes allocated in main", tb, 100 + 100 + 1000)
eq("jeapi: blocks allocated in main", tbk, 3)
eq("jeapi: left live in main", sum(pp["eb"] for pp in mains), 0)
done()
PY
# An object before the preload in the lookup order that defines malloc takes every
# call: one message names it (nothing else changes), instead of a silent empty profile.
jelib=$(gcc -print-file-name=libjemalloc.so.2)
[ -f "$jelib" ] || jelib=$(ldconfig -p | awk '/libjemalloc.so.2 /{ print $NF; exit }')
[ -f "$jelib" ] || fail "libjemalloc.so.2 not found"
mkdir -p "$tmp/first" "$tmp/second" "$tmp/own"
"$tmp/cxxnew-libc" >"$tmp/native.out" 2>&1 || fail "cxxnew failed natively"
env AUDIOPROF_OUT="$tmp/first/p.%p.json" LD_PRELOAD="$jelib:$PRELOAD" "$tmp/cxxnew-libc" \
	>"$tmp/first.out" 2>"$tmp/first.err" || { cat "$tmp/first.err"; fail "cxxnew with jemalloc preloaded first failed"; }
cmp -s "$tmp/native.out" "$tmp/first.out" || fail "cxxnew output differs with jemalloc preloaded first"
grep -q "malloc is defined by .*libjemalloc.so.2, which comes before libaudioprof.so" "$tmp/first.err" ||
	{ cat "$tmp/first.err"; fail "no message naming libjemalloc.so.2 when it is preloaded first"; }
env AUDIOPROF_OUT="$tmp/second/p.%p.json" LD_PRELOAD="$PRELOAD:$jelib" "$tmp/cxxnew-libc" \
	>/dev/null 2>"$tmp/second.err" || fail "cxxnew with jemalloc preloaded second failed"
[ ! -s "$tmp/second.err" ] || { cat "$tmp/second.err"; fail "a message with libaudioprof.so first in LD_PRELOAD"; }
cat >"$tmp/ownmalloc.c" <<'C'
#include <stdio.h>
#include <string.h>
static char heap[1 << 22];
static size_t used;
void *malloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (used + n > sizeof(heap))
		return NULL;
	used += n;
	return heap + used - n;
}
void free(void *p) { (void)p; }
void *calloc(size_t a, size_t b) { void *p = malloc(a * b); if (p) memset(p, 0, a * b); return p; }
void *realloc(void *p, size_t n) { void *q = malloc(n); if (q && p) memcpy(q, p, n); return q; }
int main(void) { char *volatile x = malloc(10); x[0] = 1; puts("ownmalloc ok"); return 0; }
C
gcc -O1 -o "$tmp/ownmalloc" "$tmp/ownmalloc.c" || fail "cannot build ownmalloc"
env AUDIOPROF_OUT="$tmp/own/p.%p.json" LD_PRELOAD="$PRELOAD" "$tmp/ownmalloc" >"$tmp/own.out" 2>"$tmp/own.err" ||
	fail "ownmalloc failed under the preload"
[ "$(cat "$tmp/own.out")" = "ownmalloc ok" ] || fail "ownmalloc output changed"
grep -q "malloc is defined by .*ownmalloc" "$tmp/own.err" ||
	{ cat "$tmp/own.err"; fail "no message naming the program that defines malloc"; }

# An allocator library without malloc_usable_size (its blocks from glibc's __libc_*,
# with an API of its own, like mallocx): malloc_usable_size of a block of ours is the
# size asked for or more, never an underflow, and realloc of one of its own blocks
# keeps the contents.
cat >"$tmp/nousable.c" <<'C'
#include <stddef.h>
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
void *malloc(size_t n) { return __libc_malloc(n); }
void *calloc(size_t n, size_t m) { return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t a, size_t n) { return __libc_memalign(a, n); }
void *nu_alloc(size_t n) { return __libc_malloc(n); }   /* the library's own API */
C
cat >"$tmp/nuprog.c" <<'C'
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void *nu_alloc(size_t n);
int main(void)
{
	char *volatile p = malloc(100);
	size_t u = malloc_usable_size(p);
	printf("usable in range %d\n", u >= 100 && u < 100 + 64);
	char *q = nu_alloc(50);
	memset(q, 7, 50);
	q = realloc(q, 200);
	int same = 1;
	for (int i = 0; i < 50; i++)
		same &= q[i] == 7;
	printf("realloc kept contents %d\n", same);
	free(q);
	free(p);
	return 0;
}
C
gcc -O1 -fPIC -shared -o "$tmp/libnousable.so" "$tmp/nousable.c" || fail "cannot build libnousable.so"
gcc -O1 -o "$tmp/nuprog" "$tmp/nuprog.c" -L"$tmp" -lnousable -Wl,-rpath,"$tmp" || fail "cannot build nuprog"
"$tmp/nuprog" | grep -qx "realloc kept contents 1" || fail "nuprog is wrong natively"
run_both "$tmp/p-nuprog" "$tmp/nuprog"
f=$(one_profile "$tmp/p-nuprog") || exit 1
check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1])
eq("allocator", p["audioprof"].get("allocator"), "libnousable.so")
done()
PY

for v in plug plugst; do
	f=$(one_profile "$tmp/p-$v") || exit 1
	echo "$v: $f"
	check_py "$f" "$v" <<'PY' || exit 1
p = load_checked(sys.argv[1])
v = sys.argv[2]
expect_pp(p, "p_new", tb=4 * 25 * 8, tbk=4, eb=0, ebk=0)
expect_pp(p, "p_vec", tb=4 * 4000, tbk=4, eb=0, ebk=0)
pp = expect_pp(p, "p_keep", tb=77, tbk=1, eb=77, ebk=1)
if pp:
    fn, fr = funcs(p, pp), frames(p, pp)
    if v == "plug":
        # the plugin's libstdc++ found outside the global scope: its new calls malloc
        ok(fn[0] == "malloc" and is_operator_new(fn[1]), "plug: frames %s" % fn[:3])
    else:
        # no C++ runtime in reach: the preload's own operator new[] made the block
        # (named as the function called, in the preload, not by the wrapper's line)
        ok(is_operator_new(fn[0]) and "libaudioprof" in fr[0] and "shim.c" not in fr[0]
           and name_matches(fn[1], "p_keep"),
           "plugst: frames %s" % fr[:2])
done()
PY
done
echo "ok"
