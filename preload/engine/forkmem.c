/* forkmem.c - one address-space reservation for the profiler's own tables, and the page
 * the fork handlers write (forkmem.h).
 * Every table used to be a mapping of its own: with the threads' tables, some twenty
 * mappings that each fork() copied one by one, and their pages spread over as many page
 * tables. Here the tables are carved from one PROT_NONE reservation, made on the first
 * call: the copied ones from its bottom up, the wiped ones (MADV_WIPEONFORK) from its top
 * down, each made read-write in place, so that the kernel merges neighbours of a kind
 * into one mapping: three mappings in all, however many tables and threads. Where the
 * reservation cannot be made (an address-space limit) or is full, a table is a mapping
 * of its own, as before.
 *
 * None of it is ever locked in memory: a program that calls mlockall(MCL_FUTURE) makes
 * the kernel lock (and, made read-write, fill) every mapping made afterwards, and
 * mlockall(MCL_CURRENT), every mapping there is. The tables are sparse, tens of MB each,
 * and the program would pay for them in memory and in its RLIMIT_MEMLOCK: each range is
 * unlocked before it is made read-write (munlock clears the lock, mprotect of a locked
 * private range would fill it), and the mlockall wrapper (ownmem.c) leaves alone what
 * forkmem_ranges lists. */
#include "forkmem.h"

#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

/* 64 GB of address space, no memory: a PROT_NONE range counts against no commit limit,
 * and a page costs only once written. Each thread's per-site sums take 80 MB of it. */
#define RESERVE_BYTES ((uint64_t)64 << 30)
#define NO_RESERVE ((char *)-1)

/* forkmem.h: the page the fork handlers write. Zero-initialised (in .bss, so in the
 * library's anonymous mapping, which MADV_WIPEONFORK accepts), a page to itself. */
#define ATFORK_PAGE 4096
struct forkmem_atfork forkmem_atfork;
_Static_assert(sizeof(forkmem_atfork) == ATFORK_PAGE &&
	       _Alignof(struct forkmem_atfork) == ATFORK_PAGE, "the fork handlers' page");

/* Before any other constructor of the profiler's runs (and so before any fork handler
 * is registered): where the page size differs, or the kernel lacks the flag, the page
 * is inherited as before (one copy-on-write fault in each fork, not three). */
__attribute__((constructor(101))) static void atfork_page_wipe(void)
{
	if ((size_t)getpagesize() == ATFORK_PAGE)
		madvise(&forkmem_atfork, ATFORK_PAGE, MADV_WIPEONFORK);
}

static char *base;          /* the reservation; NULL: not tried yet; NO_RESERVE: none */
static uint64_t used;       /* pages given out: bottom ones | top ones << 32 */

/* The mappings of their own (no reservation, or it is full), for forkmem_ranges: a slot
 * is claimed by a compare-and-swap of its start, cleared by forkmem_unmap. Beyond
 * OWN_MAX of them at once a mapping is still made, but not listed. */
#define OWN_MAX 64
static struct { uintptr_t lo, hi; } own[OWN_MAX];

static size_t page_size(void)
{
	static size_t page;
	if (!page)
		page = (size_t)getpagesize();
	return page;
}

/* The reservation, made by the first caller (a loser of the race unmaps its own). */
static char *reservation(void)
{
	char *b = __atomic_load_n(&base, __ATOMIC_ACQUIRE);
	if (b)
		return b == NO_RESERVE ? NULL : b;
	char *m = NO_RESERVE;
	struct rlimit rl;
	/* Under an address-space limit the reservation would eat what the program may need. */
	if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY) {
		void *p = mmap(NULL, RESERVE_BYTES, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED) {
			munlock(p, RESERVE_BYTES);   /* made after mlockall(MCL_FUTURE) */
			m = p;
		}
	}
	char *expect = NULL;
	if (!__atomic_compare_exchange_n(&base, &expect, m, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		if (m != NO_RESERVE)
			munmap(m, RESERVE_BYTES);
		m = expect;
	}
	return m == NO_RESERVE ? NULL : m;
}

/* `size` bytes from the reservation's bottom (top == 0) or top, made read-write; NULL
 * when there is no reservation or no room left in it. Lock-free. */
static void *carve(size_t size, int top)
{
	char *b = reservation();
	if (!b)
		return NULL;
	uint64_t total = RESERVE_BYTES / page_size();
	uint64_t n = (size + page_size() - 1) / page_size();
	uint64_t u = __atomic_load_n(&used, __ATOMIC_RELAXED), lo, hi;
	do {
		lo = u & 0xffffffffu;
		hi = u >> 32;
		if (n > total - lo - hi)
			return NULL;
	} while (!__atomic_compare_exchange_n(&used, &u, top ? u + (n << 32) : u + n, 1,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	char *p = b + (top ? total - hi - n : lo) * page_size();
	/* Locked only if the program locked the reservation behind the wrapper's back
	 * (a raw mlockall system call); then made read-write it would be filled. */
	munlock(p, n * page_size());
	if (mprotect(p, n * page_size(), PROT_READ | PROT_WRITE) != 0)
		return NULL;   /* a commit limit: the range stays unused */
	return p;
}

/* A mapping of its own, never locked: made PROT_NONE (which mlockall(MCL_FUTURE) locks
 * but does not fill), unlocked, then made read-write. Under MCL_FUTURE without
 * CAP_IPC_LOCK the kernel refuses a locked mapping beyond RLIMIT_MEMLOCK: then NULL. */
static void *map_own(size_t size)
{
	void *p = mmap(NULL, size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	munlock(p, size);
	if (mprotect(p, size, PROT_READ | PROT_WRITE) != 0) {
		munmap(p, size);
		return NULL;
	}
	for (int i = 0; i < OWN_MAX; i++) {
		uintptr_t expect = 0;
		if (__atomic_compare_exchange_n(&own[i].lo, &expect, (uintptr_t)p, 0,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			__atomic_store_n(&own[i].hi, (uintptr_t)p + size, __ATOMIC_RELEASE);
			break;
		}
	}
	return p;
}

void *forkmem_map(size_t size)
{
	void *p = carve(size, 0);
	return p ? p : map_own(size);
}

void *forkmem_map_wiped(size_t size)
{
	void *p = carve(size, 1);
	if (!p)
		p = map_own(size);
	if (p)
		madvise(p, (size + page_size() - 1) & ~(page_size() - 1), MADV_WIPEONFORK);
	return p;
}

/* Whether p lies in the reservation. */
static int reserved(const void *p)
{
	char *b = __atomic_load_n(&base, __ATOMIC_ACQUIRE);
	return b && b != NO_RESERVE && (const char *)p >= b && (const char *)p < b + RESERVE_BYTES;
}

void forkmem_unmap(void *p, size_t size)
{
	if (!p)
		return;
	if (reserved(p)) {
		madvise(p, size, MADV_DONTNEED);   /* carve never gives the range out again */
		return;
	}
	for (int i = 0; i < OWN_MAX; i++) {
		if (__atomic_load_n(&own[i].lo, __ATOMIC_RELAXED) == (uintptr_t)p) {
			__atomic_store_n(&own[i].hi, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&own[i].lo, 0, __ATOMIC_RELEASE);
			break;
		}
	}
	munmap(p, size);
}

int forkmem_reserve(void)
{
	return reservation() != NULL;
}

size_t forkmem_ranges(uintptr_t (*r)[2], size_t max)
{
	size_t n = 0;
	char *b = __atomic_load_n(&base, __ATOMIC_ACQUIRE);
	if (b && b != NO_RESERVE && n < max) {
		r[n][0] = (uintptr_t)b;
		r[n++][1] = (uintptr_t)b + RESERVE_BYTES;
	}
	for (int i = 0; i < OWN_MAX && n < max; i++) {
		uintptr_t hi = __atomic_load_n(&own[i].hi, __ATOMIC_ACQUIRE);
		uintptr_t lo = __atomic_load_n(&own[i].lo, __ATOMIC_RELAXED);
		if (lo && hi > lo) {
			r[n][0] = lo;
			r[n++][1] = hi;
		}
	}
	return n;
}
