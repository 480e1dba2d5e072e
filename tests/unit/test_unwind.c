/* test_unwind.c - the profiler's own stack walker (unwind.c) against libunwind: the
 * same return addresses through frames with and without a frame pointer, alloca,
 * recursion, glibc's qsort, a signal handler and its trampoline, a new thread up to its
 * outermost frame, and a module dlopen'ed after start-up (libffi's assembly) that an
 * audio thread finds without the loader's lock; reads outside the given stack bounds
 * refused; the shape cache giving the same answers as a full walk. */
#include <CUnit/CUnit.h>
#include <dlfcn.h>
#include <ffi.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "suites.h"
#include "unwind.h"

#define MAXF 96
#define NOTAIL __asm__ volatile("" ::: "memory")
#define NOFP __attribute__((noinline, optimize("omit-frame-pointer")))

static struct unwind_shapes *shapes;
static __thread uintptr_t stack_lo, stack_hi;
static __thread int may_lock = 1;
static int compared, mismatched;

static void own_bounds(void)
{
	pthread_attr_t a;
	void *lo;
	size_t size;
	pthread_getattr_np(pthread_self(), &a);
	pthread_attr_getstack(&a, &lo, &size);
	pthread_attr_destroy(&a);
	stack_lo = (uintptr_t)lo;
	stack_hi = (uintptr_t)lo + size;
}

/* Walk from this function's caller with both unwinders; 1 if they agree. */
__attribute__((noinline)) static int compare_here(void)
{
	uintptr_t *f = __builtin_frame_address(0);
	struct unwind_start st = { f[1], (uintptr_t)(f + 2), f[0], stack_lo, stack_hi, may_lock, 0 };
	uintptr_t ours[MAXF], slots[MAXF];
	unsigned n = 0;
	enum unwind_status s = unwind_walk(shapes, &st, ours, slots, MAXF, &n);
	void *lu[MAXF + 8];
	int got = unw_backtrace(lu, MAXF + 8);
	int i = 0;
	while (i < got && (uintptr_t)lu[i] != f[1])
		i++;
	int ok = s == UNWIND_DONE && i < got && n >= 2;
	unsigned k = 0;
	for (; ok && k < n && i + (int)k < got; k++)
		if ((uintptr_t)lu[i + k] != ours[k])
			ok = 0;
	/* libunwind may end with a zero entry; ours stops before it. */
	if (ok && i + (int)k < got && lu[i + k])
		ok = 0;
	/* Every return address read from the stack was read where the walker says. */
	for (unsigned j = 0; ok && j < n; j++)
		if (slots[j] && *(const uintptr_t *)slots[j] != ours[j])
			ok = 0;
	compared++;
	if (!ok)
		mismatched++;
	NOTAIL;
	return ok;
}

NOFP static int nofp3(int x) { int r = compare_here() + x; NOTAIL; return r; }
NOFP static int nofp2(int x) { int r = nofp3(x + 1); NOTAIL; return r; }
__attribute__((noinline)) static int withalloca(int x)
{
	volatile char *p = __builtin_alloca((size_t)x * 16 + 8);
	p[0] = 1;
	int r = nofp2(x) + p[0] - 1;
	NOTAIL;
	return r;
}
NOFP static int nofp1(int x) { int r = withalloca(x + 3); NOTAIL; return r; }

NOFP static int recurse(int d)
{
	int r = d ? recurse(d - 1) : compare_here();
	NOTAIL;
	return r;
}

static void test_frames(void)
{
	CU_ASSERT_TRUE(nofp1(1) >= 1 + 1 + 3);
	CU_ASSERT_TRUE(recurse(40));
}

static int cmp_calls;
static int by_value(const void *a, const void *b)
{
	if (cmp_calls++ < 3)
		CU_ASSERT_TRUE(compare_here());
	return *(const int *)a - *(const int *)b;
}

static void test_libc_callback(void)
{
	int v[64];
	for (int i = 0; i < 64; i++)
		v[i] = (i * 37) % 64;
	cmp_calls = 0;
	qsort(v, 64, sizeof(v[0]), by_value);
	CU_ASSERT_TRUE(cmp_calls >= 3);
}

static volatile sig_atomic_t in_handler_ok = -1;
static void on_usr1(int sig)
{
	(void)sig;
	in_handler_ok = recurse(2);
}

static void test_signal_frame(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, &old);
	raise(SIGUSR1);
	sigaction(SIGUSR1, &old, NULL);
	CU_ASSERT_EQUAL(in_handler_ok, 1);
}

/* From a signal's context (what a CPU-time sample walks): the interrupted instruction
 * first, then the same callers libunwind finds beyond the signal frame. */
static volatile sig_atomic_t ctx_ok = -1;
static void on_usr2(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	const ucontext_t *uc = ucv;
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	struct unwind_start st = { pc, (uintptr_t)uc->uc_mcontext.gregs[REG_RSP],
				   (uintptr_t)uc->uc_mcontext.gregs[REG_RBP], stack_lo, stack_hi, 0, 1 };
	uintptr_t ours[MAXF];
	unsigned n = 0;
	enum unwind_status s = unwind_walk(shapes, &st, ours, NULL, MAXF, &n);
	void *lu[MAXF + 8];
	int got = unw_backtrace(lu, MAXF + 8), i = 0;
	while (i < got && (uintptr_t)lu[i] != pc)
		i++;
	int ok = s == UNWIND_DONE && i < got && n >= 3;
	for (unsigned k = 0; ok && k < n && i + (int)k < got; k++)
		if ((uintptr_t)lu[i + k] != ours[k])
			ok = 0;
	ctx_ok = ok;
}

NOFP static int raise_usr2(int d)
{
	int r = d ? raise_usr2(d - 1) : raise(SIGUSR2);
	NOTAIL;
	return r;
}

static void test_signal_context(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr2;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR2, &sa, &old);
	raise_usr2(3);
	sigaction(SIGUSR2, &old, NULL);
	CU_ASSERT_EQUAL(ctx_ok, 1);
}

static void *thread_main(void *arg)
{
	(void)arg;
	own_bounds();
	may_lock = 0;   /* an audio thread's walk */
	return (void *)(intptr_t)(nofp1(2) >= 1 && recurse(5));
}

static void test_thread_outermost(void)
{
	pthread_t t;
	void *r = NULL;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, thread_main, NULL), 0);
	pthread_join(t, &r);
	CU_ASSERT_PTR_EQUAL(r, (void *)1);
}

/* libffi, dlopen'ed now (after unwind_init), calls compare_here from its assembly. */
static void *ffi_thread(void *arg)
{
	void *h = arg;
	own_bounds();
	may_lock = 0;   /* the module must be found without dl_iterate_phdr */
	ffi_status (*prep)(ffi_cif *, ffi_abi, unsigned, ffi_type *, ffi_type **) =
		(ffi_status (*)(ffi_cif *, ffi_abi, unsigned, ffi_type *, ffi_type **))dlsym(h, "ffi_prep_cif");
	void (*call)(ffi_cif *, void (*)(void), void *, void **) =
		(void (*)(ffi_cif *, void (*)(void), void *, void **))dlsym(h, "ffi_call");
	ffi_type *sint = dlsym(h, "ffi_type_sint32");
	if (!prep || !call || !sint)
		return NULL;
	ffi_cif cif;
	if (prep(&cif, FFI_DEFAULT_ABI, 0, sint, NULL) != FFI_OK)
		return NULL;
	ffi_arg rv = 0;
	call(&cif, (void (*)(void))compare_here, &rv, NULL);
	return (void *)(intptr_t)(int)rv;
}

static void test_dlopened_module(void)
{
	void *h = dlopen("libffi.so.8", RTLD_NOW | RTLD_LOCAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	pthread_t t;
	void *r = NULL;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, ffi_thread, h), 0);
	pthread_join(t, &r);
	CU_ASSERT_PTR_EQUAL(r, (void *)1);
	dlclose(h);
}

/* Modules coming and going (dlopen and dlclose on one thread, bracketed as the
 * preload's dlclose wrapper does) while another thread walks, as an audio thread,
 * through code that stays: every walk the same as the first, nothing read amiss. */
static volatile int churn_stop;

static void *churn_thread(void *arg)
{
	(void)arg;
	const char *libs[] = { "libz.so.1", "libbz2.so.1.0", "liblzma.so.5", "libffi.so.8" };
	for (int i = 0; !churn_stop && i < 400; i++) {
		void *h = dlopen(libs[i % 4], RTLD_NOW | RTLD_LOCAL);
		if (!h)
			continue;
		unwind_dlclose_begin();
		dlclose(h);
		unwind_dlclose_end();
	}
	churn_stop = 1;
	return NULL;
}

static uintptr_t churn_first[MAXF];
static unsigned churn_first_n;

NOFP static int churn_walk(int first)
{
	uintptr_t *f = __builtin_frame_address(0);
	struct unwind_start st = { f[1], (uintptr_t)(f + 2), f[0], stack_lo, stack_hi, 0, 0 };
	uintptr_t ips[MAXF];
	unsigned n = 0;
	enum unwind_status us = unwind_walk(shapes, &st, ips, NULL, MAXF, &n);
	if (us != UNWIND_DONE)
		return 0;
	if (first) {
		memcpy(churn_first, ips, sizeof(ips));
		churn_first_n = n;
		return 1;
	}
	int r = n == churn_first_n && !memcmp(ips, churn_first, n * sizeof(ips[0]));
	NOTAIL;
	return r;
}

NOFP static int churn_caller(int first)
{
	int r = churn_walk(first);
	NOTAIL;
	return r;
}

static void test_module_churn(void)
{
	pthread_t t;
	may_lock = 0;
	churn_stop = 0;
	long walks = 0, bad = 0;
	for (;;) {   /* one call site: the first walk is the reference */
		if (!churn_caller(walks == 0))
			bad++;
		if (walks++ == 0)
			CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, churn_thread, NULL), 0);
		if (churn_stop)
			break;
	}
	pthread_join(t, NULL);
	may_lock = 1;
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(walks > 0);
}

/* Bounds that exclude the stack: nothing is read, the walk fails with [ra] only. */
__attribute__((noinline)) static void walk_outside(void)
{
	uintptr_t *f = __builtin_frame_address(0);
	struct unwind_start st = { f[1], (uintptr_t)(f + 2), f[0], 4096, 8192, 1, 0 };
	uintptr_t ips[8];
	unsigned n = 99;
	CU_ASSERT_EQUAL(unwind_walk(shapes, &st, ips, NULL, 8, &n), UNWIND_FAILED);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(ips[0], f[1]);
	/* A return address in no module. */
	struct unwind_start bad = { 0x1000, (uintptr_t)(f + 2), f[0], stack_lo, stack_hi, 1, 0 };
	CU_ASSERT_EQUAL(unwind_walk(shapes, &bad, ips, NULL, 8, &n), UNWIND_FAILED);
	CU_ASSERT_EQUAL(n, 1);
	NOTAIL;
}

static void test_refusals(void)
{
	walk_outside();
}

/* Shapes: the same walk again is answered from the cache, with the same frames. */
static void test_shapes(void)
{
	struct unwind_counters before = { 0 }, after = { 0 };
	unwind_shapes_counters(shapes, &before);
	CU_ASSERT_TRUE(recurse(10));
	CU_ASSERT_TRUE(recurse(10));
	unwind_shapes_counters(shapes, &after);
	CU_ASSERT_TRUE(after.shape_hits - before.shape_hits >= 10);
	CU_ASSERT_EQUAL(after.failed, before.failed);
}

/* The pages of [p, p + len) in memory. */
static size_t resident_pages(void *p, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (len + page - 1) / page, r = 0;
	unsigned char *v = calloc(n, 1);
	if (!v || mincore(p, len, v) != 0) {
		free(v);
		return (size_t)-1;
	}
	for (size_t i = 0; i < n; i++)
		r += v[i] & 1;
	free(v);
	return r;
}

/* A module unloaded makes every thread's shape cache forget its entries (the next walk
 * finds none of them: a later module at the same address has other code) without the
 * thread clearing it: no walk writes, or faults in, the whole 256 KB table because
 * some library somewhere was unloaded. */
static void test_shapes_unload(void)
{
	size_t size = unwind_shapes_size();
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(m != MAP_FAILED);
	struct unwind_shapes *saved = shapes;
	shapes = m;   /* zeroed: an empty cache, as a new thread's */
	/* (the counters are added to what is passed) */
	struct unwind_counters cf = { 0 }, cw = { 0 }, c0 = { 0 }, c1 = { 0 }, c2 = { 0 };
	CU_ASSERT_TRUE(recurse(10));
	unwind_shapes_counters(shapes, &cf);   /* a walk through an empty cache */
	CU_ASSERT_TRUE(recurse(10));
	unwind_shapes_counters(shapes, &cw);
	CU_ASSERT_TRUE(cw.shape_hits - cf.shape_hits >= 10);   /* the cache serves */
	/* a module the walker has met (a walk through libffi), then unloaded */
	void *h = dlopen("libffi.so.8", RTLD_NOW | RTLD_LOCAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_PTR_EQUAL(ffi_thread(h), (void *)1);
	may_lock = 1;
	unwind_shapes_counters(shapes, &c0);
	size_t before = resident_pages(m, size);
	unwind_dlclose_begin();
	dlclose(h);
	unwind_dlclose_end();
	CU_ASSERT_TRUE(recurse(10));
	unwind_shapes_counters(shapes, &c1);
	/* as the first walk through the empty cache: nothing of before was used */
	CU_ASSERT_EQUAL(c1.shape_hits - c0.shape_hits, cf.shape_hits);
	CU_ASSERT_EQUAL(c1.frames - c0.frames, cf.frames);
	size_t after = resident_pages(m, size);
	CU_ASSERT_TRUE(before != (size_t)-1 && after != (size_t)-1);
	CU_ASSERT_TRUE(after <= before + 4);
	CU_ASSERT_TRUE(after < size / 4096 / 2);
	CU_ASSERT_TRUE(recurse(10));   /* entries of the new generation serve again */
	unwind_shapes_counters(shapes, &c2);
	CU_ASSERT_TRUE(c2.shape_hits - c1.shape_hits >= 10);
	CU_ASSERT_EQUAL(c2.failed, c0.failed);
	shapes = saved;
	munmap(m, size);
}

static void test_totals(void)
{
	CU_ASSERT_TRUE(compared >= 10);
	CU_ASSERT_EQUAL(mismatched, 0);
}

static int init(void)
{
	unwind_init();
	shapes = calloc(1, unwind_shapes_size());
	own_bounds();
	return shapes ? 0 : -1;
}

static int cleanup(void)
{
	free(shapes);
	return 0;
}

void suite_unwind(void)
{
	CU_pSuite s = CU_add_suite("unwind", init, cleanup);
	CU_add_test(s, "frames with and without frame pointer, alloca, recursion", test_frames);
	CU_add_test(s, "through glibc's qsort", test_libc_callback);
	CU_add_test(s, "through a signal handler's trampoline", test_signal_frame);
	CU_add_test(s, "from a signal's context (the interrupted instruction first)", test_signal_context);
	CU_add_test(s, "a new thread, to its outermost frame, without locks", test_thread_outermost);
	CU_add_test(s, "a module dlopen'ed later, found without the loader's lock", test_dlopened_module);
	CU_add_test(s, "modules loaded and unloaded while an audio thread walks", test_module_churn);
	CU_add_test(s, "reads outside the stack refused", test_refusals);
	CU_add_test(s, "the shape cache answers as a full walk", test_shapes);
	CU_add_test(s, "a module unloaded: the shape cache forgets without being cleared",
		    test_shapes_unload);
	CU_add_test(s, "no walk disagreed with libunwind", test_totals);
}
