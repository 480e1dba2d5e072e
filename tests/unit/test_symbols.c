/* test_symbols.c - CUnit suite for preload/engine/symbols.c: exact frame strings for code in
 * this binary (built with -g), inlined frames, libc, unknown addresses, the cache,
 * threads and fork, the symbol-table fallback and C++ demangling (fixture built
 * without -g), the vdso, and frames of a module resolved before its dlclose (fixture built with
 * -g). The fixtures are compiled at run time from fixtures/libdlfix.c with `cc` into
 * a private directory under /tmp, removed when the suite ends. */
#include "suites.h"
#include "symbols.h"
#include "sites.h"
#include "symcache.h"

#include <CUnit/CUnit.h>
#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FRAMES 8

/* Frames handed to the callback, copied, plus the pointers themselves. */
struct frames {
	int n;                             /* callbacks seen */
	const char *ptr[MAX_FRAMES];       /* the strings as passed */
	char s[MAX_FRAMES][512];           /* copies */
};

static void collect(const char *frame, void *arg)
{
	struct frames *f = arg;
	if (f->n < MAX_FRAMES) {
		f->ptr[f->n] = frame;
		snprintf(f->s[f->n], sizeof(f->s[0]), "%s", frame);
	}
	f->n++;
}

static int resolve(uintptr_t ip, struct frames *f)
{
	memset(f, 0, sizeof(*f));
	return symbols_resolve(ip, collect, f);
}

/* ---------------------------------------------------------------- code in this binary */

static __attribute__((noinline)) uintptr_t return_address(void)
{
	uintptr_t ra = (uintptr_t)__builtin_return_address(0);
	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

static int site_line, inner_line, outer_line;

static __attribute__((noinline)) uintptr_t probe_site(void)
{
	uintptr_t ra = return_address(); site_line = __LINE__;
	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

static inline __attribute__((always_inline)) uintptr_t inlined_callee(void)
{
	uintptr_t ra = return_address(); inner_line = __LINE__;
	return ra;
}

static __attribute__((noinline)) uintptr_t inlining_caller(void)
{
	uintptr_t ra = inlined_callee(); outer_line = __LINE__;
	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

/* Resolved only after symbols_release(): its frame needs the debug information again. */
static int release_line;
static __attribute__((noinline)) uintptr_t release_probe(void)
{
	uintptr_t ra = return_address(); release_line = __LINE__;
	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

/* symbols_release lets the debug information go: what was resolved stays cached as it
 * was, and a new address loads what it needs again. */
static void test_release(void)
{
	uintptr_t ip = probe_site();
	struct frames a, b, c;
	CU_ASSERT_EQUAL(resolve(ip, &a), 1);
	symbols_release();
	symbols_release();   /* twice: nothing left to let go */
	CU_ASSERT_EQUAL(resolve(ip, &b), 1);
	CU_ASSERT_STRING_EQUAL(a.s[0], b.s[0]);
	CU_ASSERT_PTR_EQUAL(a.ptr[0], b.ptr[0]);   /* the cached entry itself */
	uintptr_t ip2 = release_probe();
	char want[512];
	snprintf(want, sizeof(want), "0x%" PRIXPTR ": release_probe (test_symbols.c:%d)",
		 ip2, release_line);
	CU_ASSERT_EQUAL(resolve(ip2, &c), 1);
	CU_ASSERT_STRING_EQUAL(c.s[0], want);
}

static void test_own_function(void)
{
	uintptr_t ip = probe_site();
	struct frames f;
	char want[512];
	CU_ASSERT_EQUAL(resolve(ip, &f), 1);
	CU_ASSERT_EQUAL(f.n, 1);
	snprintf(want, sizeof(want), "0x%" PRIXPTR ": probe_site (test_symbols.c:%d)",
		 ip, site_line);
	CU_ASSERT_STRING_EQUAL(f.s[0], want);
}

static void test_inlined(void)
{
	uintptr_t ip = inlining_caller();
	struct frames f;
	char want[512];
	CU_ASSERT_EQUAL(resolve(ip, &f), 2);
	CU_ASSERT_EQUAL(f.n, 2);
	snprintf(want, sizeof(want), "0x%" PRIXPTR ": inlined_callee (test_symbols.c:%d)",
		 ip, inner_line);
	CU_ASSERT_STRING_EQUAL(f.s[0], want);
	snprintf(want, sizeof(want), "0x%" PRIXPTR ": inlining_caller (test_symbols.c:%d)",
		 ip, outer_line);
	CU_ASSERT_STRING_EQUAL(f.s[1], want);
}

/* Whether a frame ends in "(file:N)". */
static int ends_in_line(const char *frame)
{
	size_t len = strlen(frame);
	if (len < 4 || frame[len - 1] != ')')
		return 0;
	size_t i = len - 1;
	while (i > 0 && frame[i - 1] >= '0' && frame[i - 1] <= '9')
		i--;
	return i < len - 1 && i > 0 && frame[i - 1] == ':' && strchr(frame, '(') != NULL;
}

static void test_libc(void)
{
	void *fn = dlsym(RTLD_DEFAULT, "getpid");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fn);
	uintptr_t ip = (uintptr_t)fn + 1;
	struct frames f;
	char prefix[64];
	int n = resolve(ip, &f);
	CU_ASSERT(n >= 1 && n <= MAX_FRAMES);
	CU_ASSERT_EQUAL(f.n, n);
	snprintf(prefix, sizeof(prefix), "0x%" PRIXPTR ": ", ip);
	for (int i = 0; i < n && i < MAX_FRAMES; i++)
		CU_ASSERT_EQUAL(strncmp(f.s[i], prefix, strlen(prefix)), 0);
	/* "__getpid (syscall-template.S:91)" with libc6-dbg, else "getpid+0x1 (in
	 * /usr/lib/x86_64-linux-gnu/libc.so.6)" or an alias of it */
	const char *last = f.s[n - 1];
	CU_ASSERT_PTR_NOT_NULL(strstr(last, "getpid"));
	CU_ASSERT(ends_in_line(last) || strstr(last, "libc.so.6)") != NULL);
}

/* The address of the vdso's clock_gettime, from the image's own dynamic symbol table
 * (its section headers are part of the mapped image); 0 if not found. */
static uintptr_t vdso_clock_gettime(void)
{
	uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return 0;
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(base + eh->e_phoff);
	uintptr_t vaddr0 = UINTPTR_MAX;
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr < vaddr0)
			vaddr0 = ph[i].p_vaddr;
	const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(base + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		const ElfW(Sym) *sym = (const ElfW(Sym) *)(base + sh[i].sh_offset);
		const char *str = (const char *)(base + sh[sh[i].sh_link].sh_offset);
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*sym); k++)
			if (strcmp(str + sym[k].st_name, "__vdso_clock_gettime") == 0)
				return base + sym[k].st_value - vaddr0;
	}
	return 0;
}

/* The vdso is read from memory (no /proc/PID/mem, no fd) and named "[vdso]". */
static void test_vdso(void)
{
	uintptr_t fn = vdso_clock_gettime();
	if (!fn) {
		CU_PASS("no vdso with __vdso_clock_gettime here");
		return;
	}
	struct frames f;
	int n = resolve(fn + 1, &f);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(f.s[0], "clock_gettime+0x1 (in [vdso])"));
}

static void test_unknown(void)
{
	struct frames f;
	CU_ASSERT_EQUAL(resolve(0x11, &f), 1);
	CU_ASSERT_STRING_EQUAL(f.s[0], "0x11: ???");
}

static void test_cache(void)
{
	uintptr_t ip = probe_site();
	struct frames a, b;
	CU_ASSERT_EQUAL(resolve(ip, &a), 1);
	CU_ASSERT_EQUAL(resolve(ip, &b), 1);
	CU_ASSERT_PTR_EQUAL(a.ptr[0], b.ptr[0]);   /* the same cached string */
	symbols_refresh();                         /* keeps the per-ip cache */
	CU_ASSERT_EQUAL(resolve(ip, &b), 1);
	CU_ASSERT_PTR_EQUAL(a.ptr[0], b.ptr[0]);
	symbols_shutdown();                        /* and everything works again after */
	CU_ASSERT_EQUAL(resolve(ip, &b), 1);
	CU_ASSERT_STRING_EQUAL(a.s[0], b.s[0]);
	CU_ASSERT_EQUAL(symbols_resolve(0, NULL, NULL), 1);   /* a NULL callback only counts */
}

/* Threads resolving the same ips while another refreshes: every answer is the one a
 * lone caller gets (run under -fsanitize=thread this also checks the locking). */
#define RACE_THREADS 4
#define RACE_ROUNDS  300

struct race {
	uintptr_t ips[4];                  /* what every thread resolves */
	char want[4][512];                 /* innermost frame, resolved alone */
	int bad;                           /* mismatches seen (atomic) */
};

static void *race_thread(void *arg)
{
	struct race *r = arg;
	for (int round = 0; round < RACE_ROUNDS; round++) {
		for (int i = 0; i < 4; i++) {
			struct frames f;
			resolve(r->ips[i], &f);
			if (f.n < 1 || strcmp(f.s[0], r->want[i]) != 0)
				__atomic_add_fetch(&r->bad, 1, __ATOMIC_RELAXED);
		}
		if (round % 50 == 0)
			symbols_refresh();
	}
	return NULL;
}

static void test_threads(void)
{
	static struct race r;
	memset(&r, 0, sizeof(r));
	r.ips[0] = probe_site();
	r.ips[1] = inlining_caller();
	r.ips[2] = (uintptr_t)dlsym(RTLD_DEFAULT, "getpid") + 1;
	r.ips[3] = 0x11;
	for (int i = 0; i < 4; i++) {
		struct frames f;
		resolve(r.ips[i], &f);
		snprintf(r.want[i], sizeof(r.want[i]), "%s", f.s[0]);
	}
	symbols_shutdown();   /* start cold: the threads race to fill the cache */
	pthread_t t[RACE_THREADS];
	int started = 0;
	for (int i = 0; i < RACE_THREADS; i++)
		started += pthread_create(&t[i], NULL, race_thread, &r) == 0;
	CU_ASSERT_EQUAL(started, RACE_THREADS);
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL(r.bad, 0);
}

/* A fork child, as the runtime's child handler does: refresh, then resolve, while
 * another thread of the parent keeps resolving (and taking the mutex, so that it often
 * holds it at the fork). The child finds the parent's cached entry itself, even then:
 * it never resolves from scratch what its parent had resolved. */
static void *fork_busy(void *arg)
{
	int *stop = arg;
	uintptr_t base = (uintptr_t)dlsym(RTLD_DEFAULT, "printf");
	for (uintptr_t i = 0; !__atomic_load_n(stop, __ATOMIC_RELAXED); i++)
		symbols_resolve(base + (i % 4096) * 4, NULL, NULL);   /* mostly misses: slow */
	return NULL;
}

static void test_fork_child(void)
{
	uintptr_t ip = probe_site();
	struct frames want;
	resolve(ip, &want);
	int stop = 0, bad = 0;
	pthread_t t;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, fork_busy, &stop), 0);
	for (int i = 0; i < 5; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct frames f;
			alarm(5);   /* a deadlocked child fails instead of hanging the suite */
			symbols_refresh();
			resolve(ip, &f);
			_exit(f.n == 1 && strcmp(f.s[0], want.s[0]) == 0 &&
			      f.ptr[0] == want.ptr[0] ? 0 : 1);
		}
		int st = 0;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(bad, 0);
}

/* ---------------------------------------------------------------- fixture modules */

static char src_path[512];             /* fixtures/libdlfix.c */
static char tmp_dir[128];              /* mkdtemp'd, canonical */
static char so_debug[160];             /* built with -g */
static char so_plain[160];             /* built without debug info */
static int fixtures_state;             /* 0 not tried, 1 built, -1 failed */
static void *plain_handle;             /* so_plain, open until the suite ends */

static int find_source(void)
{
	static const char *const rel[] = {
		"fixtures", "tests/unit/fixtures", "unit/fixtures",
	};
	char exe[400] = "", dir[480];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
	}
#ifdef FIXTURE_DIR
	snprintf(src_path, sizeof(src_path), "%s/libdlfix.c", FIXTURE_DIR);
	if (access(src_path, R_OK) == 0)
		return 0;
#endif
	const char *slash = strrchr(__FILE__, '/');
	if (slash) {   /* next to this source file, as compiled */
		snprintf(src_path, sizeof(src_path), "%.*s/fixtures/libdlfix.c",
			 (int)(slash - __FILE__), __FILE__);
		if (access(src_path, R_OK) == 0)
			return 0;
	}
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		/* relative to the working directory, then to the test binary */
		snprintf(src_path, sizeof(src_path), "%s/libdlfix.c", rel[i]);
		if (access(src_path, R_OK) == 0)
			return 0;
		snprintf(dir, sizeof(dir), "%s/%s", exe, rel[i]);
		snprintf(src_path, sizeof(src_path), "%s/libdlfix.c", dir);
		if (exe[0] && access(src_path, R_OK) == 0)
			return 0;
	}
	return -1;
}

static int build_fixtures(void)
{
	if (fixtures_state)
		return fixtures_state > 0 ? 0 : -1;
	fixtures_state = -1;
	if (find_source() != 0) {
		fprintf(stderr, "test_symbols: fixtures/libdlfix.c not found\n");
		return -1;
	}
	char tmpl[] = "/tmp/audioprof_symbols_XXXXXX";
	char *canon = mkdtemp(tmpl) ? realpath(tmpl, NULL) : NULL;
	if (!canon || strlen(canon) >= sizeof(tmp_dir)) {
		fprintf(stderr, "test_symbols: cannot make a directory under /tmp\n");
		free(canon);
		return -1;
	}
	snprintf(tmp_dir, sizeof(tmp_dir), "%s", canon);
	free(canon);
	snprintf(so_debug, sizeof(so_debug), "%s/libdlfix_g.so", tmp_dir);
	snprintf(so_plain, sizeof(so_plain), "%s/libdlfix.so", tmp_dir);
	char cmd[1536];
	snprintf(cmd, sizeof(cmd),
		 "cc -g -O0 -shared -fPIC -o '%s' '%s' && cc -g0 -O0 -shared -fPIC -o '%s' '%s'",
		 so_debug, src_path, so_plain, src_path);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_symbols: fixture build failed: %s\n", cmd);
		return -1;
	}
	fixtures_state = 1;
	return 0;
}

/* The line of the fixture marked DLFIX_CALL, or -1. */
static int marked_line(void)
{
	FILE *fp = fopen(src_path, "r");
	if (!fp)
		return -1;
	char buf[512];
	int line = 0, found = -1;
	while (fgets(buf, sizeof(buf), fp)) {
		line++;
		if (strstr(buf, "DLFIX_CALL") && strstr(buf, "dlfix_here")) {
			found = line;
			break;
		}
	}
	fclose(fp);
	return found;
}

static void test_no_debug_info(void)
{
	CU_ASSERT_EQUAL_FATAL(build_fixtures(), 0);
	/* Loaded after the last report: found by reporting the module list again.
	 * It stays loaded until the suite ends, so that the module of the next test
	 * cannot be mapped at the same address (the per-ip cache would answer). */
	plain_handle = dlopen(so_plain, RTLD_NOW | RTLD_LOCAL);
	void *h = plain_handle;
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	uintptr_t (*site)(void) = (uintptr_t (*)(void))dlsym(h, "dlfix_site");
	uintptr_t (*bar)(void) = (uintptr_t (*)(void))dlsym(h, "_ZN5dlfix3barEv");
	uintptr_t (*foo)(int) = (uintptr_t (*)(int))dlsym(h, "_ZN5dlfix3fooEi");
	CU_ASSERT_PTR_NOT_NULL_FATAL(site);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bar);
	CU_ASSERT_PTR_NOT_NULL_FATAL(foo);

	struct frames f;
	char want[512];
	uintptr_t ip = site();
	CU_ASSERT_EQUAL(resolve(ip, &f), 1);
	snprintf(want, sizeof(want), "0x%" PRIXPTR ": dlfix_site+0x%" PRIxPTR " (in %s)",
		 ip, ip - (uintptr_t)site, so_plain);
	CU_ASSERT_STRING_EQUAL(f.s[0], want);

	/* Without libstdc++ in the process the name is demangled too (libiberty)... */
	if (!dlsym(RTLD_DEFAULT, "__cxa_demangle")) {
		ip = bar();
		CU_ASSERT_EQUAL(resolve(ip, &f), 1);
		snprintf(want, sizeof(want), "0x%" PRIXPTR ": dlfix::bar()+0x%" PRIxPTR " (in %s)",
			 ip, ip - (uintptr_t)bar, so_plain);
		CU_ASSERT_STRING_EQUAL(f.s[0], want);
	}
	/* ...and demangled once it is loaded. */
	void *cxx = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL);
	if (cxx) {
		ip = foo(7);
		CU_ASSERT_EQUAL(resolve(ip, &f), 1);
		snprintf(want, sizeof(want), "0x%" PRIXPTR ": dlfix::foo(int)+0x%" PRIxPTR " (in %s)",
			 ip, ip - (uintptr_t)foo, so_plain);
		CU_ASSERT_STRING_EQUAL(f.s[0], want);
	}
}

static void test_module_closing(void)
{
	CU_ASSERT_EQUAL_FATAL(build_fixtures(), 0);
	int line = marked_line();
	CU_ASSERT_FATAL(line > 0);
	/* Something resolved before the dlopen: the module list is already reported. */
	struct frames f;
	resolve(probe_site(), &f);

	void *h = dlopen(so_debug, RTLD_NOW | RTLD_LOCAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	uintptr_t (*site)(void) = (uintptr_t (*)(void))dlsym(h, "dlfix_site");
	void *other_fn = dlsym(h, "dlfix_other");
	CU_ASSERT_PTR_NOT_NULL_FATAL(site);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other_fn);
	uintptr_t ip = site();
	uintptr_t other = (uintptr_t)other_fn + 1;

	CU_ASSERT_EQUAL_FATAL(sites_init(), 0);
	uintptr_t stack[3] = { (uintptr_t)&symbols_resolve, ip, probe_site() };
	CU_ASSERT(sites_intern(stack, 3) != 0);
	CU_ASSERT_EQUAL(symbols_module_closing(h), 1);
	CU_ASSERT_EQUAL(dlclose(h), 0);
	symbols_module_closed();
	CU_ASSERT_PTR_NULL(dlopen(so_debug, RTLD_NOW | RTLD_NOLOAD));   /* really gone */

	char want[512];
	CU_ASSERT_EQUAL(resolve(ip, &f), 1);
	snprintf(want, sizeof(want), "0x%" PRIXPTR ": dlfix_site (libdlfix.c:%d)", ip, line);
	CU_ASSERT_STRING_EQUAL(f.s[0], want);
	/* An address of the module that no site held was not kept. */
	CU_ASSERT_EQUAL(resolve(other, &f), 1);
	snprintf(want, sizeof(want), "0x%" PRIXPTR ": ???", other);
	CU_ASSERT_STRING_EQUAL(f.s[0], want);
}

/* Addresses recorded once a dlclose has begun (by the module's destructors, or in a
 * dependency that goes with it: the dlclose hook's own pass cannot see them) are
 * resolved against the module that held them, never "???" nor a module mapped there
 * since: during the dlclose (the symbolizer racing it) from the module list read
 * before it, and after it by symbols_module_closed, from the module's file. */
static void test_module_closed(void)
{
	CU_ASSERT_EQUAL_FATAL(build_fixtures(), 0);
	int line = marked_line();
	CU_ASSERT_FATAL(line > 0);
	symbols_shutdown();   /* no entry of an earlier test at the same addresses */
	struct frames f;
	resolve(probe_site(), &f);

	void *h = dlopen(so_debug, RTLD_NOW | RTLD_LOCAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	uintptr_t (*site)(void) = (uintptr_t (*)(void))dlsym(h, "dlfix_site");
	uintptr_t (*other)(void) = (uintptr_t (*)(void))dlsym(h, "dlfix_other");
	CU_ASSERT_PTR_NOT_NULL_FATAL(site);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	uintptr_t ip = site(), ip2 = other();

	CU_ASSERT_EQUAL_FATAL(sites_init(), 0);
	CU_ASSERT_EQUAL(symbols_module_closing(h), 1);
	uintptr_t s1[3] = { (uintptr_t)&symbols_resolve, ip, probe_site() };
	uintptr_t s2[3] = { (uintptr_t)&symbols_resolve, ip2, probe_site() };
	CU_ASSERT(sites_intern(s1, 3) != 0);
	CU_ASSERT(sites_intern(s2, 3) != 0);
	CU_ASSERT_EQUAL(dlclose(h), 0);
	CU_ASSERT_PTR_NULL(dlopen(so_debug, RTLD_NOW | RTLD_NOLOAD));   /* really gone */

	/* Another thread, before the dlclose hook is done. */
	CU_ASSERT_EQUAL(resolve(ip2, &f), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(f.s[0], ": dlfix_other (libdlfix.c:"));
	symbols_module_closed();
	char want[512];
	CU_ASSERT_EQUAL(resolve(ip, &f), 1);
	snprintf(want, sizeof(want), "0x%" PRIXPTR ": dlfix_site (libdlfix.c:%d)", ip, line);
	CU_ASSERT_STRING_EQUAL(f.s[0], want);
}

/* ---------------------------------------------------------------- cached ranges */

/* One line row of 64 bytes: the assembler adds no row inside an asm statement. */
static __attribute__((noinline, noclone)) void nop_sled(void)
{
	__asm__ volatile("symbols_sled_a:\n\t.rept 32\n\tnop\n\t.endr\n"
			 "symbols_sled_b:\n\t.rept 32\n\tnop\n\t.endr\n");
}
extern const char symbols_sled_a[], symbols_sled_b[];

/* Two rows, of two lines. */
static __attribute__((noinline, noclone)) void nop_pair(void)
{
	__asm__ volatile("symbols_pair_a:\n\t.rept 16\n\tnop\n\t.endr\n");
	__asm__ volatile("symbols_pair_b:\n\t.rept 16\n\tnop\n\t.endr\n");
}
extern const char symbols_pair_a[], symbols_pair_b[];

/* A private cache directory for the persistent cache (symcache.h), emptied and removed
 * by range_cache_off. */
static char range_dir[64];

static void range_cache_on(void)
{
	strcpy(range_dir, "/tmp/apsymrange.XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(range_dir));
	symcache_init(range_dir);
	symbols_shutdown();
}

static void range_cache_off(void)
{
	symbols_shutdown();
	symcache_init("off");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", range_dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/* A frame without its "0xADDR: " prefix. */
static const char *suffix(const char *frame)
{
	const char *p = strstr(frame, ": ");
	return p ? p + 2 : frame;
}

/* The frames of one address in a row, resolved from DWARF once, name every other
 * address of the row in a new process (the files only) without DWARF: what a CPU
 * sample in a hot loop needs on a warm run. And they are what DWARF gives there. */
static void test_range_warm(void)
{
	nop_sled();
	uintptr_t a = (uintptr_t)symbols_sled_a, b = (uintptr_t)symbols_sled_b;
	struct symbols_stats st;
	struct frames fa, fb, fd;
	range_cache_on();
	CU_ASSERT_EQUAL(resolve(a + 1, &fa), 1);   /* a CPU sample's pc a: ip a + 1 */
	symbols_get_stats(&st);
	CU_ASSERT_EQUAL(st.dwarf, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(fa.s[0], ": nop_sled (test_symbols.c:"));
	symbols_persist();
	symbols_shutdown();   /* a new process */
	unsigned tried = 0;
	for (uintptr_t pc = a + 7; pc < b + 32; pc += 9, tried++) {
		CU_ASSERT_EQUAL(resolve(pc + 1, &fb), 1);
		CU_ASSERT_STRING_EQUAL(suffix(fb.s[0]), suffix(fa.s[0]));
	}
	symbols_get_stats(&st);
	CU_ASSERT_EQUAL(st.dwarf, 0);
	CU_ASSERT_EQUAL(st.symtab, 0);
	CU_ASSERT_EQUAL(st.cached, tried);
	CU_ASSERT_EQUAL(resolve(b + 1, &fb), 1);

	/* A miss in a module whose file had entries caches the code around it too: the
	 * next process finds the next line's row. */
	struct frames fp, fq, fr;
	uintptr_t pa = (uintptr_t)symbols_pair_a, pb = (uintptr_t)symbols_pair_b;
	nop_pair();
	CU_ASSERT_EQUAL(resolve(pa + 1, &fp), 1);
	symbols_get_stats(&st);
	CU_ASSERT_EQUAL(st.dwarf, 1);
	symbols_persist();
	symbols_shutdown();
	CU_ASSERT_EQUAL(resolve(pb + 1, &fq), 1);
	symbols_get_stats(&st);
	CU_ASSERT_EQUAL(st.cached, 1);
	CU_ASSERT_EQUAL(st.dwarf, 0);
	CU_ASSERT_STRING_NOT_EQUAL(suffix(fp.s[0]), suffix(fq.s[0]));   /* another line */
	range_cache_off();
	CU_ASSERT_EQUAL(resolve(pb + 1, &fr), 1);
	CU_ASSERT_STRING_EQUAL(fq.s[0], fr.s[0]);
	range_cache_on();   /* what the end of the test turns off */
	CU_ASSERT_EQUAL(resolve(b + 1, &fd), 1);   /* from DWARF, no cache */
	CU_ASSERT_STRING_EQUAL(fb.s[0], fd.s[0]);
}

/* A function of three rows, the middle one of 1,024 bytes: its last row is further
 * from its first than the fill around a miss reaches. Only the first has a label (a
 * label is an ELF symbol, and would end the function's extent). */
static __attribute__((noinline, noclone)) void nop_long(void)
{
	__asm__ volatile("symbols_long_a:\n\t.rept 16\n\tnop\n\t.endr\n");
	__asm__ volatile(".rept 1024\n\tnop\n\t.endr\n");
	__asm__ volatile(".rept 16\n\tnop\n\t.endr\n");
}
extern const char symbols_long_a[];

/* A CPU sample's leaf that misses the cache on a module's later run caches its whole
 * function: the next process names a pc of it far from the sampled one (another line,
 * past the fill's reach) from the cache without DWARF, as DWARF names it. */
static void test_range_leaf(void)
{
	nop_long();
	uintptr_t a = (uintptr_t)symbols_long_a, c = a + 16 + 1024;   /* the third row */
	struct symbols_stats st;
	struct frames fa, fc, fd;
	range_cache_on();
	CU_ASSERT_EQUAL(resolve(probe_site(), &fa), 1);   /* the module's first run */
	symbols_persist();
	symbols_shutdown();
	memset(&fa, 0, sizeof(fa));
	CU_ASSERT_EQUAL(symbols_resolve_leaf(a + 1, collect, &fa), 1);
	symbols_get_stats(&st);
	CU_ASSERT_EQUAL(st.dwarf, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(fa.s[0], ": nop_long (test_symbols.c:"));
	symbols_persist();
	symbols_shutdown();   /* a new process */
	CU_ASSERT_EQUAL(resolve(c + 8, &fc), 1);
	symbols_get_stats(&st);
	CU_ASSERT_EQUAL(st.cached, 1);
	CU_ASSERT_EQUAL(st.dwarf, 0);
	CU_ASSERT_STRING_NOT_EQUAL(suffix(fa.s[0]), suffix(fc.s[0]));   /* another line */
	range_cache_off();
	CU_ASSERT_EQUAL(resolve(c + 8, &fd), 1);   /* from DWARF, no cache */
	symbols_get_stats(&st);
	CU_ASSERT_EQUAL(st.dwarf, 1);
	CU_ASSERT_STRING_EQUAL(fc.s[0], fd.s[0]);
}

#define RANGE_MODULES 3
struct text {
	uintptr_t lo[RANGE_MODULES], hi[RANGE_MODULES];   /* executable segments */
};

static int text_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct text *t = arg;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	int k = name[0] == '\0' ? 0 : strstr(name, "/libm.so") ? 1 :
		strstr(name, "/libjansson.so") ? 2 : -1;
	(void)size;
	for (int i = 0; k >= 0 && i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && !t->lo[k]) {
			t->lo[k] = info->dlpi_addr + ph->p_vaddr;
			t->hi[k] = t->lo[k] + ph->p_memsz;
		}
	}
	return 0;
}

#define RANGE_STRIDE 61   /* bytes between the addresses resolved first */

/* All frames of ip in one string. */
static void resolve_all(uintptr_t ip, char *out, size_t size)
{
	struct frames f;
	size_t n = 0;
	out[0] = '\0';
	resolve(ip, &f);
	for (int i = 0; i < f.n && i < MAX_FRAMES && n < size; i++)
		n += (size_t)snprintf(out + n, size - n, "%s|", f.s[i]);
}

/* Over this program's code (inlined code of the engine, built -O2), libm's (a
 * separate debug file) and libjansson's (no debug information, only the dynamic
 * symbols: "name+0xOFF", and "???" for its static functions' code): addresses resolved from DWARF first,
 * then others between them in a new process, from the cache where a cached range holds
 * them; each of those equals, frame for frame, what libdw alone gives (no cache). */
static void test_range_exact(void)
{
	struct text t = { { 0 }, { 0 } };
	dl_iterate_phdr(text_cb, &t);
	CU_ASSERT_FATAL(t.lo[0] && t.lo[1] && t.lo[2]);
	size_t cap = 0;
	for (int k = 0; k < RANGE_MODULES; k++)
		cap += (t.hi[k] - t.lo[k]) / RANGE_STRIDE + 1;
	uintptr_t *ips = malloc(cap * sizeof(*ips));
	char (*warm)[1024] = malloc(cap * sizeof(*warm));
	unsigned char *hit = calloc(cap, 1), *mod = calloc(cap, 1);
	CU_ASSERT_FATAL(ips && warm && hit && mod);
	size_t n = 0;
	range_cache_on();
	for (int k = 0; k < RANGE_MODULES; k++)
		for (uintptr_t pc = t.lo[k]; pc < t.hi[k]; pc += RANGE_STRIDE) {
			char buf[1024];
			resolve_all(pc + 1, buf, sizeof(buf));
			/* another address after it, 1 to 60 bytes on */
			mod[n] = (unsigned char)k;
			ips[n++] = pc + 1 + 1 + (pc * 2654435761u >> 7) % (RANGE_STRIDE - 1);
		}
	symbols_persist();
	symbols_shutdown();
	size_t hits = 0, inlined = 0, offsets = 0, differ = 0, mod_hits[RANGE_MODULES] = { 0 };
	for (size_t i = 0; i < n; i++) {
		struct symbols_stats before, after;
		symbols_get_stats(&before);
		resolve_all(ips[i], warm[i], sizeof(warm[i]));
		symbols_get_stats(&after);
		hit[i] = after.cached > before.cached;
		hits += hit[i];
		mod_hits[mod[i]] += hit[i];
		offsets += hit[i] && strstr(warm[i], "+0x") != NULL;   /* symbol+offset */
		inlined += hit[i] && strchr(warm[i], '|') != strrchr(warm[i], '|');
	}
	range_cache_off();
	for (size_t i = 0; i < n; i++) {
		char direct[1024];
		if (!hit[i])
			continue;
		resolve_all(ips[i], direct, sizeof(direct));
		if (strcmp(direct, warm[i]) != 0 && differ++ < 5)
			printf("\n  %s\n  != %s (DWARF)", warm[i], direct);
	}
	printf("\n  range cache: %zu of %zu addresses hit (%zu, %zu, %zu), %zu with inlined "
	       "frames, %zu symbol+offset ", hits, n, mod_hits[0], mod_hits[1], mod_hits[2],
	       inlined, offsets);
	CU_ASSERT_EQUAL(differ, 0);
	for (int k = 0; k < RANGE_MODULES; k++)
		CU_ASSERT(mod_hits[k] > 0);
	CU_ASSERT(inlined > 0);
	CU_ASSERT(offsets > 0);
	free(mod);
	free(ips);
	free(warm);
	free(hit);
}

static int clean(void)
{
	symbols_shutdown();
	if (plain_handle)
		dlclose(plain_handle);
	if (tmp_dir[0]) {
		unlink(so_debug);
		unlink(so_plain);
		rmdir(tmp_dir);
	}
	return 0;
}

void suite_symbols(void)
{
	CU_pSuite s = CU_add_suite("symbols", NULL, clean);
	if (!s)
		return;
	CU_add_test(s, "function and file:line in this binary", test_own_function);
	CU_add_test(s, "inlined frames, innermost first", test_inlined);
	CU_add_test(s, "address in libc", test_libc);
	CU_add_test(s, "address in the vdso", test_vdso);
	CU_add_test(s, "unknown address", test_unknown);
	CU_add_test(s, "per-ip cache, refresh, shutdown", test_cache);
	CU_add_test(s, "concurrent callers", test_threads);
	CU_add_test(s, "fork child", test_fork_child);
	CU_add_test(s, "debug information let go, then loaded again", test_release);
	CU_add_test(s, "symbol table fallback and demangling", test_no_debug_info);
	CU_add_test(s, "module resolved before dlclose", test_module_closing);
	CU_add_test(s, "frames recorded during a dlclose", test_module_closed);
	CU_add_test(s, "cached range: a warm run without DWARF", test_range_warm);
	CU_add_test(s, "cached range: a leaf caches its whole function", test_range_leaf);
	CU_add_test(s, "cached ranges: the frames DWARF gives", test_range_exact);
}
