/* under.c - the allocator under the profiler (under.h): glibc's, or the program's own
 * allocator library, looked up once at the first allocation call. */
#include "under.h"
#include "loader.h"

#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <stdint.h>
#include <string.h>

int under_state;
char under_boot[UNDER_BOOT_SIZE] __attribute__((aligned(64)));
static size_t boot_used;           /* bump offset into under_boot, atomic */

static struct {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*memalign)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	size_t (*usable)(void *);
	uintptr_t base;                /* load bias of the allocator's object */
	char name[128];                /* its file name, for the profile */
} u;

/* The loaded object holding address a: its load bias (its identity here) and its file
 * name. dladdr would tell the same, but it also looks for the symbol at a, a scan of
 * the whole symbol table (C library: ~3,000 symbols, tens of microseconds per call,
 * paid by every process at its first allocation); walking the program headers of the
 * dozen loaded objects is not. */
struct obj_query {
	uintptr_t a;                   /* in: the address */
	uintptr_t bias;                /* out: dlpi_addr of the object holding it */
	const char *name;              /* out: its dlpi_name */
};

static int obj_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct obj_query *q = arg;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && q->a >= lo && q->a - lo < ph->p_memsz) {
			q->bias = info->dlpi_addr;
			q->name = info->dlpi_name;
			return 1;
		}
	}
	return 0;
}

static int object_of(const void *a, struct obj_query *q)
{
	q->a = (uintptr_t)a;
	q->name = NULL;
	return a && loader_iterate(obj_visit, q) == 1;
}

/* The next definition of `name` after this library, if it lives in the object with
 * load bias `bias`: free() must be the one of the object whose malloc() made the block. */
static void *next_in(const char *name, uintptr_t bias)
{
	void *f = dlsym(RTLD_NEXT, name);
	struct obj_query q;
	if (!object_of(f, &q) || q.bias != bias)
		return NULL;
	return f;
}

static void look_up(void)
{
	int st = UNDER_LIBC;
	struct obj_query mi, li;
	void *m = dlsym(RTLD_NEXT, "malloc");
	/* The C library's object, by a function only glibc defines: tcmalloc defines
	 * __libc_malloc and the rest too (so this library's calls to them reach it). */
	int have_libc = object_of((void *)gnu_get_libc_version, &li);
	if (m && have_libc && object_of(m, &mi) && mi.bias != li.bias) {
		u.free = (void (*)(void *))next_in("free", mi.bias);
		u.calloc = (void *(*)(size_t, size_t))next_in("calloc", mi.bias);
		u.realloc = (void *(*)(void *, size_t))next_in("realloc", mi.bias);
		u.memalign = (void *(*)(size_t, size_t))next_in("memalign", mi.bias);
		u.posix_memalign = (int (*)(void **, size_t, size_t))next_in("posix_memalign",
									    mi.bias);
		/* An allocator that replaces malloc but not the rest cannot be followed
		 * consistently; glibc's malloc then serves (as before this existed). */
		if (u.free && u.calloc && u.realloc && (u.memalign || u.posix_memalign)) {
			u.malloc = (void *(*)(size_t))m;
			u.base = mi.bias;
			u.usable = (size_t (*)(void *))next_in("malloc_usable_size", mi.bias);
			const char *n = mi.name && *mi.name ? mi.name : "?";
			const char *slash = strrchr(n, '/');
			n = slash ? slash + 1 : n;
			size_t len = strlen(n);
			if (len >= sizeof(u.name))
				len = sizeof(u.name) - 1;
			memcpy(u.name, n, len);
			u.name[len] = 0;
			st = UNDER_OTHER;
		}
	}
	if (st == UNDER_LIBC && have_libc)
		u.usable = (size_t (*)(void *))next_in("malloc_usable_size", li.bias);
	__atomic_store_n(&under_state, st, __ATOMIC_RELEASE);
}

/* The state, looking the allocator up on the first call. */
static int state(void)
{
	int st = __atomic_load_n(&under_state, __ATOMIC_ACQUIRE);
	if (st != UNDER_UNKNOWN)
		return st;
	if (__atomic_compare_exchange_n(&under_state, &st, UNDER_LOOKUP, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		look_up();
		return __atomic_load_n(&under_state, __ATOMIC_ACQUIRE);
	}
	return st;
}

/* Another thread's look-up outlasted the static area: it takes microseconds. */
static int wait_lookup(void)
{
	int st;
	while ((st = __atomic_load_n(&under_state, __ATOMIC_ACQUIRE)) == UNDER_LOOKUP)
		__builtin_ia32_pause();
	return st;
}

/* A block of the static area: a 16-byte size word, then the block (aligned to
 * `align`, at most 4096). NULL when the area is full. Never reused: its memory
 * stays zero until handed out. */
static void *boot_alloc(size_t n, size_t align)
{
	if (align < 16)
		align = 16;
	if (n > UNDER_BOOT_SIZE || align > 4096)
		return NULL;
	size_t need = (n + 16 + align + 15) & ~(size_t)15;
	size_t off = __atomic_fetch_add(&boot_used, need, __ATOMIC_RELAXED);
	if (off + need > UNDER_BOOT_SIZE)
		return NULL;
	uintptr_t p = ((uintptr_t)under_boot + off + 16 + align - 1) & ~(uintptr_t)(align - 1);
	((size_t *)p)[-1] = n;
	return (void *)p;
}

void *under_malloc_slow(size_t n)
{
	int st = state();
	if (st == UNDER_LOOKUP) {
		void *p = boot_alloc(n, 16);
		if (p)
			return p;
		st = wait_lookup();
	}
	return st == UNDER_OTHER ? u.malloc(n) : __libc_malloc(n);
}

void *under_calloc_slow(size_t n, size_t m)
{
	int st = state();
	if (st == UNDER_LOOKUP) {
		size_t t;
		if (__builtin_mul_overflow(n, m, &t)) {
			errno = ENOMEM;
			return NULL;
		}
		void *p = boot_alloc(t, 16);   /* zero: never handed out before */
		if (p)
			return p;
		st = wait_lookup();
	}
	return st == UNDER_OTHER ? u.calloc(n, m) : __libc_calloc(n, m);
}

void *under_realloc_slow(void *p, size_t n)
{
	if (under_boot_owns(p)) {
		if (n == 0)
			return NULL;   /* "freed": the area is never reused */
		size_t old = ((size_t *)p)[-1];
		void *q = u_malloc(n);
		if (q)
			memcpy(q, p, old < n ? old : n);
		return q;
	}
	int st = state();
	if (st == UNDER_LOOKUP)
		st = wait_lookup();
	return st == UNDER_OTHER ? u.realloc(p, n) : __libc_realloc(p, n);
}

void under_free_slow(void *p)
{
	if (under_boot_owns(p))
		return;
	int st = state();
	if (st == UNDER_LOOKUP)
		st = wait_lookup();
	if (st == UNDER_OTHER)
		u.free(p);
	else
		__libc_free(p);
}

void *under_memalign_slow(size_t align, size_t n)
{
	int st = state();
	if (st == UNDER_LOOKUP) {
		void *p = boot_alloc(n, align);
		if (p)
			return p;
		st = wait_lookup();
	}
	if (st != UNDER_OTHER)
		return __libc_memalign(align, n);
	if (u.memalign)
		return u.memalign(align, n);
	void *r;
	int e = u.posix_memalign(&r, align, n);
	if (e) {
		errno = e;
		return NULL;
	}
	return r;
}

size_t under_usable(void *p)
{
	if (under_boot_owns(p))
		return ((size_t *)p)[-1];
	int st = state();
	if (st == UNDER_LOOKUP)
		st = wait_lookup();
	if (u.usable)
		return u.usable(p);
	if (st == UNDER_OTHER)
		return 0;
	/* glibc's chunk size word, minus its overhead */
	size_t sz = ((size_t *)p)[-1];
	return (sz & ~(size_t)7) - ((sz & 2) ? 16 : 8);
}

const char *under_name(void)
{
	return state() == UNDER_OTHER ? u.name : NULL;
}

void *under_sym(const char *name)
{
	if (state() != UNDER_OTHER)
		return NULL;
	return next_in(name, u.base);
}
