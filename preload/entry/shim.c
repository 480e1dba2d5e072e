/* shim.c - the interposed libc names and nothing else: the malloc family, the process
 * exits, exec, dlclose and the signal-disposition calls, and C++ operator new and
 * delete. Each allocation entry point takes its caller's frame, allocates from the
 * allocator underneath (under.h: glibc's __libc_* functions, or the program's own
 * allocator library) with a 32-byte header in front of the block (blocks.h), records
 * the site and the event, and returns. No lock, no syscall beyond what the allocator
 * itself makes (one exception: see lookup() below). The site travels by pointer
 * (stack cache -> block header -> free); a realloc reads the clock once for the old
 * block's death and the new one's birth. */
#include "audio.h"
#include "blocks.h"
#include "clock.h"
#include "interpose.h"
#include "log.h"
#include "rtcheck.h"
#include "runtime.h"
#include "sites.h"
#include "stacks.h"
#include "unwind.h"
#include "under.h"

#include <dlfcn.h>
#include <link.h>
#include <malloc.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define TRACK_ARGS uintptr_t fn, uintptr_t ra, uintptr_t cfa, uintptr_t fp

/* Frame 0 of every stack is the interposed function's own address. `&malloc` would
 * go through the GOT and, in a non-PIE program that takes malloc's address itself,
 * give that program's PLT stub; a hidden alias (interpose.h) is this library's code. */

ALIAS(malloc); ALIAS(calloc); ALIAS(realloc); ALIAS(reallocarray); ALIAS(posix_memalign);
ALIAS(aligned_alloc); ALIAS(memalign); ALIAS(valloc); ALIAS(pvalloc);

/* ------------------------------------------------------------ core paths */

/* A pointer's header, or NULL when it is not one of our blocks. blocks_lookup reads the
 * 8 bytes before it: always mapped under glibc's malloc (its chunk header) and for any
 * pointer not at the start of a page (the same page). Another allocator may hand out a
 * page-aligned block right after an unmapped or inaccessible page; with one under us,
 * a page-aligned pointer is ours only if the page set below holds it. Only if that set
 * ever overflowed are such a pointer's 8 bytes read with process_vm_readv, which fails
 * instead of faulting (a system call, never on the usual path). */
static struct block_hdr *lookup_page_start(const void *p)
{
	uint64_t tag;
	struct iovec local = { &tag, sizeof(tag) };
	struct iovec remote = { (char *)p - sizeof(tag), sizeof(tag) };
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)sizeof(tag) ||
	    tag != (BLOCK_MAGIC ^ (uint64_t)(uintptr_t)p))
		return NULL;
	return blocks_lookup(p);
}

/* Our blocks whose user pointer starts a page (an aligned request, or a 32-byte header
 * that happened to end on a page boundary): lookup() finds them here, so that with
 * another allocator under us the system call above is needed only if this set ever
 * overflowed. Lock-free open addressing, at most PAGESET_PROBE slots from a pointer's
 * home; a freed entry becomes a tombstone that a later one reuses. */
#define PAGESET_SIZE  65536u   /* power of two; untouched BSS costs nothing */
#define PAGESET_PROBE 32u
#define PAGESET_TOMB  ((uintptr_t)1)
static uintptr_t pageset[PAGESET_SIZE];
static int pageset_full;   /* sticky: a block could not be noted */

static inline uintptr_t *pageset_slot(uintptr_t p, unsigned i)
{
	size_t h = (size_t)(((p >> 12) * 0x9E3779B97F4A7C15ull) >> 40);
	return &pageset[(h + i) & (PAGESET_SIZE - 1)];
}

static void pageset_add(uintptr_t p)
{
	for (unsigned i = 0; i < PAGESET_PROBE; i++) {
		uintptr_t *slot = pageset_slot(p, i);
		uintptr_t v = __atomic_load_n(slot, __ATOMIC_RELAXED);
		if ((v == 0 || v == PAGESET_TOMB) &&
		    __atomic_compare_exchange_n(slot, &v, p, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
			return;
	}
	__atomic_store_n(&pageset_full, 1, __ATOMIC_RELEASE);
}

static void pageset_del(uintptr_t p)
{
	for (unsigned i = 0; i < PAGESET_PROBE; i++) {
		uintptr_t *slot = pageset_slot(p, i);
		uintptr_t v = __atomic_load_n(slot, __ATOMIC_RELAXED);
		if (v == p) {
			__atomic_store_n(slot, PAGESET_TOMB, __ATOMIC_RELEASE);
			return;
		}
		if (v == 0)
			return;
	}
}

static int pageset_has(uintptr_t p)
{
	for (unsigned i = 0; i < PAGESET_PROBE; i++) {
		uintptr_t v = __atomic_load_n(pageset_slot(p, i), __ATOMIC_ACQUIRE);
		if (v == p)
			return 1;
		if (v == 0)
			return 0;
	}
	return 0;
}

static inline struct block_hdr *lookup(const void *p)
{
	if (unlikely(((uintptr_t)p & 4095) == 0) &&
	    __atomic_load_n(&under_state, __ATOMIC_RELAXED) != UNDER_LIBC) {
		if (pageset_has((uintptr_t)p))
			return blocks_lookup(p);
		if (__atomic_load_n(&pageset_full, __ATOMIC_ACQUIRE))
			return lookup_page_start(p);
		return NULL;   /* not ours: never noted */
	}
	return blocks_lookup(p);
}

static inline struct site *site_here(TRACK_ARGS)
{
	/* In a signal handler that interrupted the profiler (runtime.h): the interrupted code
	 * may be inside libunwind or this thread's stack cache, so neither is touched; the
	 * site is the caller's return address and a frame saying so. Interning is lock-free
	 * and safe to re-enter. */
	if (unlikely(runtime_sig_interrupted)) {
		uintptr_t ips[3] = { fn, ra, SITES_SIGNAL_MARK };
		return sites_intern_site(ips, 3);
	}
	int full = runtime_state == RUNTIME_READY;
	return stacks_site(full ? runtime_cache() : NULL, runtime_depth, full, fn, ra, cfa, fp);
}

/* The name of an interposed allocation function, for violation reports. */
static const char *fn_name(uintptr_t fn)
{
	if (fn == SELF(malloc)) return "malloc";
	if (fn == SELF(calloc)) return "calloc";
	if (fn == SELF(realloc)) return "realloc";
	if (fn == SELF(reallocarray)) return "reallocarray";
	if (fn == SELF(posix_memalign)) return "posix_memalign";
	if (fn == SELF(aligned_alloc)) return "aligned_alloc";
	if (fn == SELF(memalign)) return "memalign";
	if (fn == SELF(valloc)) return "valloc";
	if (fn == SELF(pvalloc)) return "pvalloc";
	return "?";
}

/* Record a block whose underlying allocation is `base`, born at `now`, the clock read
 * just before that allocation was made (0: read it here); returns the user pointer. In
 * real-time code the allocation is a violation, timed from `now` to here (the
 * underlying call, not the profiler's work that follows). */
static inline void *track_at(void *base, size_t offset, size_t size, uint64_t now, TRACK_ARGS)
{
	if (unlikely(!base))
		return NULL;
	int rt = audio_in_rt();
	uint64_t took = unlikely(rt) && now ? clock_ticks() - now : 0;
	runtime_guard++;
	struct site *s = site_here(fn, ra, cfa, fp);
	__builtin_prefetch(s, 1);   /* its counters: fetched while the clock is read */
	if (!now)
		now = clock_ticks();
	void *user = blocks_init(base, offset, size, s, now);
	if (unlikely(((uintptr_t)user & 4095) == 0))
		pageset_add((uintptr_t)user);
	sites_alloc(runtime_sums(), s, size, now);
	ap_rt.allocs++;
	ap_rt.bytes += size;
	if (unlikely(rt))
		audio_violation_took(VK_ALLOC, fn_name(fn), sites_id(s), size, took);
	runtime_guard--;
	return user;
}

/* track(base, offset, size, TRACK_ARGS): track_at with the clock read before `base`,
 * the underlying allocation, is evaluated. */
#define track(base, offset, size, ...) ({                                              \
	uint64_t t0_ = clock_ticks();                                                  \
	void *base_ = (base);                                                          \
	track_at(base_, (offset), (size), t0_, __VA_ARGS__);                           \
})

static inline void untrack(struct block_hdr *h)
{
	struct site *s = h->site;
	__builtin_prefetch(s, 1);
	uint64_t now = clock_ticks();
	sites_free(runtime_sums(), s, blocks_size(h), h->birth, now);
	ap_rt.frees++;
}

static inline int add_overflows(size_t a, size_t b)
{
	return a > SIZE_MAX - b;
}

/* ------------------------------------------------------------ usable sizes as glibc's */

/* The program sees the usable sizes glibc would give it (malloc_usable_size, and the
 * bytes it may touch): a block of ours is the program's size plus the header, from the
 * same allocator, so for glibc's heap chunks (16-byte steps) the usable size past the
 * header is glibc's own for the size asked, except
 *  - below glibc's smallest chunk: malloc(0..24) is a 32-byte chunk with 24 usable
 *    bytes, where 0 + 32 bytes of header would leave 8: the body is at least 24;
 *  - an mmapped chunk (large blocks): glibc rounds size + 8 up to pages and leaves
 *    16 bytes of overhead, so the header would eat 32 bytes of that slack or push the
 *    mapping a page further: the mapping grows (mremap) to hold the header plus
 *    glibc's usable size, and that size is what malloc_usable_size reports.
 * With another allocator underneath (under.h) its own sizes stand. */
#define MIN_BODY (3 * sizeof(size_t))   /* glibc: a 4-word chunk less its size word */
#define CHUNK_MMAPPED 2u                 /* glibc's IS_MMAPPED bit in the size word */

static inline size_t body(size_t size)
{
	return size < MIN_BODY ? MIN_BODY : size;
}

/* glibc's usable size of an mmapped chunk made for `size` bytes (malloc.c: request2size,
 * then sysmalloc's ALIGN_UP(nb + SIZE_SZ, pagesize), less CHUNK_HDR_SZ). */
static size_t glibc_mmapped_usable(size_t size)
{
	size_t page = (size_t)getpagesize();
	size_t nb = (body(size) + sizeof(size_t) + 15) & ~(size_t)15;
	return ((nb + sizeof(size_t) + page - 1) & ~(page - 1)) - 2 * sizeof(size_t);
}

static inline int glibc_mmapped(const void *base)
{
	return __atomic_load_n(&under_state, __ATOMIC_RELAXED) == UNDER_LIBC &&
	       !under_boot_owns(base) && (((const size_t *)base)[-1] & CHUNK_MMAPPED);
}

/* A plain block (header at offset BLOCK_HDR_SIZE) just allocated for `size` bytes:
 * when glibc mmapped it, make room for glibc's usable size behind the header. Returns
 * the (maybe moved) allocation; if it cannot grow, the block as it was (its usable
 * size is then reported smaller than glibc's, never larger than what is there). */
static void *__attribute__((noinline)) fit_mmapped(void *base, size_t size)
{
	size_t want = glibc_mmapped_usable(size);
	if (under_usable(base) - BLOCK_HDR_SIZE >= want)
		return base;
	int saved = errno;
	void *n = u_realloc(base, want + BLOCK_HDR_SIZE);
	errno = saved;
	return n ? n : base;
}

static inline void *fit(void *base, size_t size)
{
	if (unlikely(base && glibc_mmapped(base)))
		return fit_mmapped(base, size);
	return base;
}

static void *alloc_aligned(size_t align, size_t size, TRACK_ARGS)
{
	if (align <= 16) {
		if (add_overflows(size, BLOCK_HDR_SIZE)) {
			errno = ENOMEM;
			return NULL;
		}
		return track(fit(u_malloc(body(size) + BLOCK_HDR_SIZE), size), BLOCK_HDR_SIZE,
			     size, fn, ra, cfa, fp);
	}
	/* align is a power of two >= 32, so the header fits in the gap before the block. */
	if (add_overflows(size, align)) {
		errno = ENOMEM;
		return NULL;
	}
	return track(u_memalign(align, body(size) + align), align, size, fn, ra, cfa, fp);
}

static inline size_t pow2_at_least(size_t a)
{
	size_t p = 1;
	while (p < a && p)
		p <<= 1;
	return p;
}

/* ------------------------------------------------------------ malloc family */

EXPORT void *malloc(size_t size)
{
	if (!runtime_tracking())
		return u_malloc(size);
	uintptr_t ra, cfa, fp;
	CALLER(ra, cfa, fp);
	if (add_overflows(size, BLOCK_HDR_SIZE)) {
		errno = ENOMEM;
		return NULL;
	}
	return track(fit(u_malloc(body(size) + BLOCK_HDR_SIZE), size), BLOCK_HDR_SIZE, size,
		     SELF(malloc), ra, cfa, fp);
}

/* A free inside a callback: its own stack, as a violation, timed like rtcheck's calls.
 * Returns the handle of its timing (ap_rt.timing, 1-based; 0: not timed): the caller
 * sets its t0 just before the underlying free and ends it with rtcheck_done. */
static int __attribute__((noinline)) free_in_rt(TRACK_ARGS)
{
	runtime_guard++;
	site_id s = sites_id(site_here(fn, ra, cfa, fp));
	struct rt_tls *t = &ap_rt;
	int h = 0;
	if (t->ntiming >= 0 && t->ntiming < RT_TIMING_MAX) {
		struct rt_timing *tm = &t->timing[t->ntiming];
		audio_violation_timed(VK_FREE, "free", s, tm);
		if (tm->slot)
			h = ++t->ntiming;
	} else {
		audio_violation(VK_FREE, "free", s, 0);
	}
	runtime_guard--;
	return h;
}

/* End our block h in exported function sym (frees and operator delete). */
#define END_BLOCK(sym, h) do {                                                         \
	int timed_ = 0;                                                                \
	if (unlikely(!runtime_guard && audio_in_rt())) {                                    \
		uintptr_t ra, cfa, fp;                                                 \
		CALLER(ra, cfa, fp);                                                   \
		timed_ = free_in_rt(SELF(sym), ra, cfa, fp);                           \
	}                                                                              \
	runtime_guard++;   /* a signal handler landing here sees the profiler at work */     \
	untrack(h);                                                                    \
	runtime_guard--;                                                                    \
	if (unlikely(((uintptr_t)(h + 1) & 4095) == 0))                               \
		pageset_del((uintptr_t)(h + 1));                                       \
	if (unlikely(timed_))                                                          \
		ap_rt.timing[timed_ - 1].t0 = clock_ticks();                           \
	u_free(blocks_release(h));                                                     \
	if (unlikely(timed_))                                                          \
		rtcheck_done(timed_);                                                  \
} while (0)

/* free() and the other names that end a block the same way: C23's free_sized and
 * free_aligned_sized (glibc 2.39 implements them inside its malloc, which must never
 * see our blocks) and cfree, still called by old binaries. */
#define FREE_FN(sym, params)                                                           \
EXPORT void sym params; ALIAS(sym);                                                    \
EXPORT void sym params                                                                 \
{                                                                                      \
	if (!p)                                                                        \
		return;                                                                \
	struct block_hdr *h = lookup(p);                                               \
	if (!h) {                                                                      \
		u_free(p);                                                             \
		return;                                                                \
	}                                                                              \
	END_BLOCK(sym, h);                                                             \
}

FREE_FN(free, (void *p))
FREE_FN(free_sized, (void *p, size_t size))
FREE_FN(free_aligned_sized, (void *p, size_t align, size_t size))
FREE_FN(cfree, (void *p))

EXPORT void *calloc(size_t n, size_t m)
{
	if (!runtime_tracking())
		return u_calloc(n, m);
	uintptr_t ra, cfa, fp;
	CALLER(ra, cfa, fp);
	size_t size;
	if (__builtin_mul_overflow(n, m, &size) || add_overflows(size, BLOCK_HDR_SIZE)) {
		errno = ENOMEM;
		return NULL;
	}
	return track(fit(u_calloc(1, body(size) + BLOCK_HDR_SIZE), size), BLOCK_HDR_SIZE, size,
		     SELF(calloc), ra, cfa, fp);
}

/* realloc as DHAT counts it: the old block dies, a new block of the new size is born. */
static void *do_realloc(void *p, size_t size, TRACK_ARGS)
{
	struct block_hdr *h = p ? lookup(p) : NULL;
	if (!runtime_tracking()) {
		if (!h)
			return u_realloc(p, size);
		/* Profiling is off here (our own call, or a child with follow-fork off)
		 * but the block is ours: give back a plain block. */
		if (size == 0) {
			free(p);
			return NULL;
		}
		void *n = u_malloc(size);
		if (!n)
			return NULL;
		uint64_t old_size = blocks_size(h);
		memcpy(n, p, old_size < size ? old_size : size);
		free(p);
		return n;
	}
	if (!p)
		return alloc_aligned(0, size, fn, ra, cfa, fp);
	if (size == 0) {
		free(p);   /* glibc frees and returns NULL */
		return NULL;
	}
	if (add_overflows(size, BLOCK_HDR_SIZE)) {
		errno = ENOMEM;
		return NULL;
	}
	if (h && blocks_offset(h) == BLOCK_HDR_SIZE) {
		struct block_hdr old = *h;
		h->tag = 0;   /* the header may move with the data */
		if (unlikely(((uintptr_t)p & 4095) == 0))
			pageset_del((uintptr_t)p);
		/* One clock read: the old block dies when the new one is born. */
		uint64_t now = clock_ticks();
		void *base = fit(u_realloc((char *)h, body(size) + BLOCK_HDR_SIZE), size);
		if (!base) {
			h->tag = BLOCK_MAGIC ^ (uint64_t)(uintptr_t)p;   /* untouched: keep it */
			if (unlikely(((uintptr_t)p & 4095) == 0))
				pageset_add((uintptr_t)p);
			return NULL;
		}
		runtime_guard++;
		sites_free(runtime_sums(), old.site, blocks_size(&old), old.birth, now);
		runtime_guard--;
		return track_at(base, BLOCK_HDR_SIZE, size, now, fn, ra, cfa, fp);
	}
	/* An over-aligned block of ours, or one the allocator made for others (before
	 * we were loaded, or through its own interface): move it into a new tracked
	 * block. Without the allocator's malloc_usable_size its size is unknown: let
	 * the allocator resize it, and it stays foreign. */
	size_t old_size = h ? blocks_size(h) : under_usable(p);
	if (!h && !old_size)
		return u_realloc(p, size);
	void *n = alloc_aligned(0, size, fn, ra, cfa, fp);
	if (!n)
		return NULL;
	memcpy(n, p, old_size < size ? old_size : size);
	free(p);
	return n;
}

EXPORT void *realloc(void *p, size_t size)
{
	uintptr_t ra, cfa, fp;
	CALLER(ra, cfa, fp);
	return do_realloc(p, size, SELF(realloc), ra, cfa, fp);
}

EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
	uintptr_t ra, cfa, fp;
	CALLER(ra, cfa, fp);
	size_t size;
	if (__builtin_mul_overflow(n, m, &size)) {
		errno = ENOMEM;
		return NULL;
	}
	return do_realloc(p, size, SELF(reallocarray), ra, cfa, fp);
}

/* glibc's posix_memalign leaves errno ENOMEM when it returns ENOMEM (its memalign
 * set it), untouched otherwise. */
EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	if (!runtime_tracking()) {
		void *p = u_memalign(align, size);
		if (!p)
			return ENOMEM;
		*out = p;
		return 0;
	}
	uintptr_t ra, cfa, fp;
	CALLER(ra, cfa, fp);
	void *p = alloc_aligned(align, size, SELF(posix_memalign), ra, cfa, fp);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

static void *memalign_common(size_t align, size_t size, TRACK_ARGS)
{
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	return alloc_aligned(pow2_at_least(align), size, fn, ra, cfa, fp);
}

/* aligned_alloc with an alignment that is not a power of two: glibc up to 2.37 treats
 * it as memalign does (rounds it up), 2.38 and later fail with EINVAL. Ask the C
 * library's own aligned_alloc which, and do the same (its trial block is freed). */
static int __attribute__((noinline)) aligned_alloc_refuses(size_t align, size_t size)
{
	static void *(*real)(size_t, size_t);
	if (!real) {
		runtime_guard++;
		real = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
		runtime_guard--;
	}
	if (!real)
		return 0;
	int saved = errno;
	runtime_guard++;
	void *p = real(align, size ? 1 : 0);
	runtime_guard--;
	if (p) {
		u_free(p);
		errno = saved;
		return 0;
	}
	return errno == EINVAL;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (unlikely(align & (align - 1) || !align) && aligned_alloc_refuses(align, size)) {
		errno = EINVAL;
		return NULL;
	}
	if (!runtime_tracking())
		return u_memalign(align, size);
	uintptr_t ra, cfa, fp;
	CALLER(ra, cfa, fp);
	return memalign_common(align, size, SELF(aligned_alloc), ra, cfa, fp);
}

EXPORT void *memalign(size_t align, size_t size)
{
	if (!runtime_tracking())
		return u_memalign(align, size);
	uintptr_t ra, cfa, fp;
	CALLER(ra, cfa, fp);
	return memalign_common(align, size, SELF(memalign), ra, cfa, fp);
}

EXPORT void *valloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (!runtime_tracking())
		return u_memalign(page, size);
	uintptr_t ra, cfa, fp;
	CALLER(ra, cfa, fp);
	return alloc_aligned(page, size, SELF(valloc), ra, cfa, fp);
}

/* glibc's pvalloc rounds with `(size + page - 1) & -(page - 1)` (malloc.c, 2.36): a
 * mask that keeps bit 0, so pvalloc(0) is memalign(page, 1) and pvalloc(100) asks for
 * page + 1 bytes. The block holds what glibc would ask for; the profile records the
 * size the program asked for. */
EXPORT void *pvalloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t rounded;
	if (__builtin_add_overflow(size, page - 1, &rounded)) {
		errno = ENOMEM;
		return NULL;
	}
	rounded &= -(page - 1);
	if (!runtime_tracking())
		return u_memalign(page, rounded);
	uintptr_t ra, cfa, fp;
	CALLER(ra, cfa, fp);
	if (add_overflows(body(rounded), page)) {
		errno = ENOMEM;
		return NULL;
	}
	return track(u_memalign(page, body(rounded) + page), page, size,
		     SELF(pvalloc), ra, cfa, fp);
}

/* What glibc would report for the block (see "usable sizes as glibc's" above): the
 * bytes behind our header; for a plain block in an mmapped chunk glibc's figure for the
 * size asked. An over-aligned block asks glibc's memalign for size + alignment, which
 * from 64 KiB alignments on crosses the mmap threshold where the size alone would not:
 * glibc does not trim an mmapped chunk, so there it reports no more than memalign
 * leaves on the heap (the chunk for the size asked plus a tail too small to split off,
 * under 2 chunks of 16 bytes), or pvalloc's rounded size for a page-aligned block. */
EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	struct block_hdr *h = lookup(p);
	if (!h)
		return under_usable(p);
	size_t off = blocks_offset(h), size = blocks_size(h);
	void *base = (char *)p - off;
	size_t r = under_usable(base);
	/* An allocator without malloc_usable_size: the size asked for is usable. */
	if (r <= off)
		return size;
	r -= off;
	if (off == BLOCK_HDR_SIZE) {
		if (glibc_mmapped(base)) {
			size_t g = glibc_mmapped_usable(size);
			return r < g ? r : g;
		}
		return r;
	}
	if (glibc_mmapped(base)) {
		size_t page = (size_t)getpagesize();
		size_t cap = ((body(size) + sizeof(size_t) + 15) & ~(size_t)15) - sizeof(size_t) + 32;
		size_t pv = (size + page - 1) & -(page - 1);
		if (off == page && pv > cap)
			cap = pv;
		return r < cap ? r : cap;
	}
	return r;
}

/* ------------------------------------------------------------ who gets malloc */

/* An object earlier in the lookup order than this library that defines malloc (a
 * program with its own allocator compiled in, or jemalloc put before us in LD_PRELOAD)
 * takes every call: the profile would stay empty without a word. Say so once, at
 * start-up, naming the object. */
__attribute__((constructor)) static void check_binding(void)
{
#ifndef AUDIOPROF_TESTING
	runtime_guard++;
	void *m = dlsym(RTLD_DEFAULT, "malloc");
	Dl_info di;
	const ElfW(Sym) *sym = NULL;
	/* A non-PIE program that takes malloc's address gets its own PLT stub from
	 * dlsym, named by an undefined symbol: only a defined one takes the calls. */
	if (m && m != (void *)SELF(malloc) &&
	    dladdr1(m, &di, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_shndx != SHN_UNDEF) {
		const char *who = di.dli_fname && *di.dli_fname ? di.dli_fname : "the program";
		log_msg("malloc is defined by %s, which comes before libaudioprof.so in the "
			"lookup order: its allocations are not seen (put libaudioprof.so first in "
			"LD_PRELOAD; a program with its own malloc cannot be profiled)", who);
	}
	runtime_guard--;
#endif
}

/* ------------------------------------------------------------ C++ operator new, delete */

/* An allocator library such as jemalloc or tcmalloc defines the whole operator new and
 * delete family itself, and its operator new never calls malloc: without these, its
 * blocks would go unseen. When the next definition of an operator lives in that
 * library (under.h), its blocks are made and recorded here like malloc's (from the
 * same allocator, by its malloc or memalign); only when that allocation fails does the
 * library's own operator new run, for its new-handler and std::bad_alloc. Otherwise
 * (libstdc++'s operators, which call malloc and free) each one jumps straight on. */

struct cxx_next {
	const char *name;
	void *fallback;         /* ours, on the allocator underneath, when nothing else is found */
	void *fn;               /* the next definition, found at the first call */
	int own;                /* blocks are made here: the allocator library's operator, or ours */
};

/* A C++ library outside the global scope (a plugin's libstdc++, loaded by dlopen with
 * RTLD_LOCAL) binds its operator calls to ours, and RTLD_NEXT cannot see its runtime:
 * look in the C++ runtimes already loaded. The handle is kept, so the runtime stays
 * loaded while we may call into it. */
static void *cxx_runtime_sym(const char *name)
{
	static const char *const libs[] = { "libstdc++.so.6", "libc++.so.1" };
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		void *h = dlopen(libs[i], RTLD_LAZY | RTLD_NOLOAD);
		if (!h)
			continue;
		void *f = dlsym(h, name);
		if (f)
			return f;
		dlclose(h);
	}
	return NULL;
}

static void *__attribute__((noinline)) cxx_resolve_slow(struct cxx_next *c)
{
	runtime_guard++;
	void *mine = under_sym(c->name);
	void *f = mine ? mine : dlsym(RTLD_NEXT, c->name);
	if (!f)
		f = cxx_runtime_sym(c->name);
	c->own = mine != NULL || !f;
	if (!f)
		f = c->fallback;   /* e.g. a plugin with a static libstdc++ that exports it */
	runtime_guard--;
	__atomic_store_n(&c->fn, f, __ATOMIC_RELEASE);
	return f;
}

/* What an uncaught std::bad_alloc would do; only where no C++ runtime can be found. */
static void __attribute__((noreturn)) cxx_out_of_memory(void)
{
	static const char msg[] = "audioprof: operator new: out of memory\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	abort();
}

static void *fb_new(size_t size)
{
	void *p = u_malloc(size ? size : 1);
	if (!p)
		cxx_out_of_memory();
	return p;
}

static void *fb_new_nothrow(size_t size, const void *nt)
{
	(void)nt;
	return u_malloc(size ? size : 1);
}

static void *fb_new_aligned(size_t size, size_t al)
{
	void *p = u_memalign(al < sizeof(void *) ? sizeof(void *) : al, size ? size : 1);
	if (!p)
		cxx_out_of_memory();
	return p;
}

static void *fb_new_aligned_nothrow(size_t size, size_t al, const void *nt)
{
	(void)nt;
	return u_memalign(al < sizeof(void *) ? sizeof(void *) : al, size ? size : 1);
}

/* Any operator delete's fallback: its first argument is the pointer. */
static void fb_delete(void *p)
{
	if (p)
		u_free(p);
}

static inline void *cxx_resolve(struct cxx_next *c)
{
	void *f = __atomic_load_n(&c->fn, __ATOMIC_ACQUIRE);
	return likely(f) ? f : cxx_resolve_slow(c);
}

#define NEXT_OP(sym, type, fb) \
	static struct cxx_next c_ = { #sym, (void *)(fb), NULL, 0 }; \
	__typeof__(type) next_ = (__typeof__(type))cxx_resolve(&c_)

/* A block for operator new: aligned to al when al is not 0. */
static inline void *op_new_block(size_t size, size_t al, TRACK_ARGS)
{
	if (al)
		return alloc_aligned(al, size, fn, ra, cfa, fp);
	if (add_overflows(size, BLOCK_HDR_SIZE))
		return NULL;
	return track(fit(u_malloc(body(size) + BLOCK_HDR_SIZE), size), BLOCK_HDR_SIZE, size,
		     fn, ra, cfa, fp);
}

/* An operator new of parameters params (called with args): al is its alignment
 * argument or 0. When no block can be had, the next definition runs (new-handler,
 * std::bad_alloc, or NULL for the nothrow forms). */
#define OP_NEW(sym, params, args, fb, al)                                              \
EXPORT void *sym params; ALIAS(sym);                                                   \
EXPORT void *sym params                                                                \
{                                                                                      \
	NEXT_OP(sym, void *(*) params, fb);                                            \
	if (!c_.own || !runtime_tracking() || ((al) & ((al) - 1)))                     \
		return next_ args;                                                     \
	uintptr_t ra, cfa, fp;                                                         \
	CALLER(ra, cfa, fp);                                                           \
	void *p = op_new_block(size, al, SELF(sym), ra, cfa, fp);                      \
	return p ? p : next_ args;                                                     \
}

/* Every operator delete: a block recorded here dies as in free(); any other goes to
 * the next definition with all its arguments. */
#define OP_DELETE(sym, params, args)                                                   \
EXPORT void sym params; ALIAS(sym);                                                    \
EXPORT void sym params                                                                 \
{                                                                                      \
	NEXT_OP(sym, void (*) params, fb_delete);                                      \
	struct block_hdr *h;                                                           \
	if (!c_.own || !p || !(h = lookup(p))) {                                       \
		next_ args;                                                            \
		return;                                                                \
	}                                                                              \
	END_BLOCK(sym, h);                                                             \
}

OP_NEW(_Znwm, (size_t size), (size), fb_new, 0)
OP_NEW(_Znam, (size_t size), (size), fb_new, 0)
OP_NEW(_ZnwmRKSt9nothrow_t, (size_t size, const void *nt), (size, nt), fb_new_nothrow, 0)
OP_NEW(_ZnamRKSt9nothrow_t, (size_t size, const void *nt), (size, nt), fb_new_nothrow, 0)
OP_NEW(_ZnwmSt11align_val_t, (size_t size, size_t al), (size, al), fb_new_aligned, al)
OP_NEW(_ZnamSt11align_val_t, (size_t size, size_t al), (size, al), fb_new_aligned, al)
OP_NEW(_ZnwmSt11align_val_tRKSt9nothrow_t, (size_t size, size_t al, const void *nt),
       (size, al, nt), fb_new_aligned_nothrow, al)
OP_NEW(_ZnamSt11align_val_tRKSt9nothrow_t, (size_t size, size_t al, const void *nt),
       (size, al, nt), fb_new_aligned_nothrow, al)
OP_DELETE(_ZdlPv, (void *p), (p))
OP_DELETE(_ZdaPv, (void *p), (p))
OP_DELETE(_ZdlPvm, (void *p, size_t n), (p, n))
OP_DELETE(_ZdaPvm, (void *p, size_t n), (p, n))
OP_DELETE(_ZdlPvRKSt9nothrow_t, (void *p, const void *nt), (p, nt))
OP_DELETE(_ZdaPvRKSt9nothrow_t, (void *p, const void *nt), (p, nt))
OP_DELETE(_ZdlPvSt11align_val_t, (void *p, size_t al), (p, al))
OP_DELETE(_ZdaPvSt11align_val_t, (void *p, size_t al), (p, al))
OP_DELETE(_ZdlPvmSt11align_val_t, (void *p, size_t n, size_t al), (p, n, al))
OP_DELETE(_ZdaPvmSt11align_val_t, (void *p, size_t n, size_t al), (p, n, al))
OP_DELETE(_ZdlPvSt11align_val_tRKSt9nothrow_t, (void *p, size_t al, const void *nt), (p, al, nt))
OP_DELETE(_ZdaPvSt11align_val_tRKSt9nothrow_t, (void *p, size_t al, const void *nt), (p, al, nt))

/* ------------------------------------------------------------ exits and exec */

EXPORT void _exit(int status)
{
	static void (*real)(int) __attribute__((noreturn));
	runtime_flush("_exit", 0);
	if (!real)
		real = dlsym(RTLD_NEXT, "_exit");
	if (real)
		real(status);
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

EXPORT void _Exit(int status)
{
	static void (*real)(int) __attribute__((noreturn));
	runtime_flush("_exit", 0);
	if (!real)
		real = dlsym(RTLD_NEXT, "_Exit");
	if (real)
		real(status);
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

ALIAS(execve); ALIAS(execv); ALIAS(execvp); ALIAS(execvpe); ALIAS(fexecve);

/* env: the environment to pass on, envp plus the exec chain (runtime_exec_env), built
 * on this frame's stack: no allocation, and nothing left behind when exec fails or in
 * a vfork parent. An environment of more than 32k variables goes on unchanged. */
#define EXEC_ENV_STACK 262144u
#define EXEC_ENV(envp, env)                                                            \
	size_t sz_ = runtime_exec_env_size(envp);                                      \
	char *const *env = (envp);                                                     \
	if (sz_ <= EXEC_ENV_STACK) {                                                   \
		void *m_ = __builtin_alloca(sz_);                                      \
		env = runtime_exec_env((envp), m_, sz_);                               \
	}

/* The execl family lands in these through the PLT, so each exec is recorded once. The
 * ones without an environment argument pass environ explicitly (glibc's execv and
 * execvp do the same inside), so that the chain can be added. */
EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	RTCHECK(VK_PROCESS, "execve", execve);
	REAL(execve);
	runtime_before_exec();
	EXEC_ENV(envp, env);
	return real_execve(path, argv, env);
}

EXPORT int execv(const char *path, char *const argv[])
{
	RTCHECK(VK_PROCESS, "execv", execv);
	REAL(execve);
	runtime_before_exec();
	EXEC_ENV(environ, env);
	return real_execve(path, argv, env);
}

EXPORT int execvp(const char *file, char *const argv[])
{
	RTCHECK(VK_PROCESS, "execvp", execvp);
	REAL(execvpe);
	runtime_before_exec();
	EXEC_ENV(environ, env);
	return real_execvpe(file, argv, env);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	RTCHECK(VK_PROCESS, "execvpe", execvpe);
	REAL(execvpe);
	runtime_before_exec();
	EXEC_ENV(envp, env);
	return real_execvpe(file, argv, env);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	RTCHECK(VK_PROCESS, "fexecve", fexecve);
	REAL(fexecve);
	runtime_before_exec();
	EXEC_ENV(envp, env);
	return real_fexecve(fd, argv, env);
}

/* The execl family: collect the arguments on the stack, then the v-variant. */
#define COLLECT_ARGS(first, argv, ap) \
	size_t n_ = 1; \
	va_start(ap, first); \
	while (va_arg(ap, char *)) n_++; \
	va_end(ap); \
	char **argv = __builtin_alloca((n_ + 1) * sizeof(char *)); \
	va_start(ap, first); \
	argv[0] = (char *)(first); \
	for (size_t i_ = 1; i_ <= n_; i_++) argv[i_] = va_arg(ap, char *);

EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	COLLECT_ARGS(arg, argv, ap)
	va_end(ap);
	return execv(path, argv);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	COLLECT_ARGS(arg, argv, ap)
	va_end(ap);
	return execvp(file, argv);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	COLLECT_ARGS(arg, argv, ap)
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

/* ------------------------------------------------------------ modules and signals */

EXPORT int dlclose(void *handle)
{
	REAL(dlclose);
	int began = runtime_before_dlclose(handle);
	unwind_dlclose_begin();   /* the stack walker's lock-free module search pauses */
	int r = real_dlclose(handle);
	int err = errno;
	unwind_dlclose_end();     /* ...and forgets the modules that went away */
	runtime_after_dlclose(began);   /* their frames, resolved from their files */
	audio_after_dlclose();   /* a private audio library may be gone with it */
	errno = err;
	return r;
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
	return runtime_sigaction(sig, act, oldact);
}

/* Thread names decide AUDIOPROF_RT_THREADS: a rename makes every thread look again. */
EXPORT int pthread_setname_np(pthread_t t, const char *name)
{
	REAL(pthread_setname_np);
	int r = real_pthread_setname_np(t, name);
	audio_names_changed();
	return r;
}

EXPORT int prctl(int option, ...)
{
	REAL(prctl);
	va_list ap;
	va_start(ap, option);
	unsigned long a2 = va_arg(ap, unsigned long), a3 = va_arg(ap, unsigned long);
	unsigned long a4 = va_arg(ap, unsigned long), a5 = va_arg(ap, unsigned long);
	va_end(ap);
	int r = real_prctl(option, a2, a3, a4, a5);
	if (option == PR_SET_NAME)
		audio_names_changed();
	return r;
}

EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, sig);
	if (runtime_sigaction(sig, &sa, &old) != 0)
		return SIG_ERR;
	return old.sa_handler;
}
