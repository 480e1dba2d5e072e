/* sites.c - the site table and the DHAT statistics of every allocation site.
 *
 * Stacks are interned lock-free into a fixed hash table of chained sites allocated
 * from a bump arena; a site never moves or dies, so its id and pointer stay valid.
 *
 * Exact global peak in O(1) per event, without locks and without DHAT's walk over
 * every site: one 16-byte word {G live bytes, M max live bytes} is updated with
 * cmpxchg16b, which puts every event in one total order (near the peak; below it,
 * each thread's events stay within a budget of its own that cannot reach M, see
 * "The global word", and need not be ordered against it). Each event gets a key
 * k = 2*M' + post (plus key_base in a fork child, see "Fork"), where M' is the
 * maximum after the event and post = 0 only for the event that raised the maximum.
 * The final global peak is the moment the last raise happened, so an event happened
 * after it exactly when its key is 2*M_final + 1.
 * Each site keeps {hi_key, hi_sum}: the largest key it has seen and the sum of its
 * byte and block deltas under that key (one more cmpxchg16b: key 48 bits, each sum
 * 40 bits signed; a site's sums after a peak are bounded by its live bytes and
 * blocks, so 512 GiB and 2^39 blocks). Its value at the peak is then its current
 * value minus hi_sum when hi_key == 2*M_final + 1, else its current value.
 * Per-site maxima (mb, mbk) are exact maxima of the site's own atomic counters,
 * unlike DHAT's, which only updates them when the global maximum moves.
 *
 * Owner and others: a site is owned by the thread (sums area) of its first event,
 * which is nearly always the only thread that allocates there. The owner keeps its
 * part of the site's state (live bytes and blocks, its own peak word) with plain
 * stores: a 16-byte peak word is one SSE store, atomic on every CPU with AVX, the
 * only ones where owners are used. Every other thread (a free of the owner's block
 * elsewhere, a second thread at the same code) updates a second part with locked
 * instructions as before. A site's value is the sum of its parts, and so is its value
 * at the global peak (each part knows what happened to it after the peak), so gb and
 * gbk stay exact; mb and mbk are maxima of the sum, taken at each allocation from its
 * own part and the other part's current value. They stay exact when allocations of
 * the owner and another thread overlap: the owner stores its part before its locked
 * update of its budget word or the global word and reads the other part after it, the
 * others add with locked instructions before reading the owner's part, so the later of
 * the two sees both, and the owner's sum is one its two parts really held at once. The
 * owner's event thus costs one locked instruction, on its own budget word's line
 * below the peak, instead of four.
 *
 * Hot path: the shim holds sites by pointer (sites_alloc, sites_free), so an event
 * touches the site's first two cache lines (the owner's event writes only the second,
 * another thread's only the first), its thread's budget line and, for a thread other
 * than the owner, one line of its sums area; never the id table: the id-taking calls
 * are for tests and readers. */
#include "sites.h"
#include "cpu.h"
#include "forkmem.h"
#include "mem.h"
#include "clock.h"

#include <emmintrin.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#define unlikely(x) __builtin_expect(!!(x), 0)
#define likely(x)   __builtin_expect(!!(x), 1)

/* Two tables of chains. The first SMALL_SITES sites go into the small one, 2^12 chains
 * (32 KB): a program with a few thousand sites touches its 8 pages, where a table
 * sized for a million sites had each site on a page of its own, and fork() copies the
 * entry of every page touched (1,024 sites: 256 pages of 1 MB). Later sites go into the
 * large one, 2^17 chains (1 MB): at most 8 sites per chain at SITES_MAX, and few pages
 * to fault in. A lookup reads its bucket before it writes it, so each page first
 * touched that way costs two faults and a TLB flush on every CPU: with 2^20 chains,
 * gcc's cc1 (17,000 sites) faulted 3,600 more times and ran 5 % slower.
 *
 * Why a stack is never in both (two sites for one stack): before a site goes into the
 * large table, the small chain of its stack is frozen (a low bit of its head, set by
 * compare-and-swap), and then searched: an insertion into the small chain succeeds
 * only by a compare-and-swap from an unfrozen head, so none happens after the freeze,
 * and every one before it is found. A lookup whose small chain is not frozen need not
 * look in the large table: nothing of that chain's stacks is there. */
#define SMALL_BITS  12
#define SMALL_N     (1u << SMALL_BITS)
#define SMALL_SITES 8192u        /* ids up to this go into the small table */
#define LARGE_BITS  17
#define LARGE_N     (1u << LARGE_BITS)
#define FROZEN      ((uintptr_t)1)
#define CHUNK_SIZE  (4u << 20)

struct pair { uint64_t a, b; } __attribute__((aligned(16)));

/* The pure sums of a site: in each thread's area, in the site for its owner, and
 * in the site for events of threads without an area. */
struct local_sums {
	uint64_t tb, tbk;          /* totals allocated */
	uint64_t tl;               /* summed lifetimes (ticks) of freed blocks */
	uint64_t birth_sum;        /* summed birth times of live blocks: live lifetimes in O(1) */
	uint64_t short_k;          /* freed blocks that lived < short-lived threshold */
};

struct site {
	/* First line: read by every event at the site, written by the other threads'
	 * events (their part) and by a new maximum. */
	struct sites_local *owner; /* area of the owning thread; NULL until the first event */
	uint32_t id;
	uint16_t depth;
	uint8_t dead;              /* lost an insertion race; never used */
	uint8_t gen;               /* fork generation it was last written in (see "Fork") */
	int64_t max_b, max_k;      /* maxima of o_curr + f_curr, tagged with gen (max_tag) */
	int64_t f_curr_b, f_curr_k;   /* the other threads' part (atomic adds) */
	struct pair fpk;           /* the other threads' packed peak word */
	/* Second line: the owner's part, written by the owner only (plain stores): no
	 * other thread's event writes it, so an owner's event never finds it stolen. */
	struct pair opk;           /* the owner's packed peak word, see pk_* */
	int64_t o_curr_b, o_curr_k;   /* the owner's part of the live bytes, blocks */
	struct local_sums own;     /* the owner's sums: no line of its area to touch; its
				    * short_k spills into the third line */
	/* Third line: the sums of area-less events, the hash and the chain. */
	struct local_sums shared;
	uint64_t hash;
	struct site *next;         /* hash chain; written once before publication */
	uintptr_t ips[];           /* the raw stack, innermost first */
} __attribute__((aligned(64)));
_Static_assert(offsetof(struct site, opk) == 64 && offsetof(struct site, own.short_k) == 128 &&
	       offsetof(struct site, ips) == 192,
	       "another thread's event writes the site's first line only, the owner's the second");

/* What a fork child counts of an inherited site it has written to: see "Fork". */
struct fork_base {
	struct local_sums d;       /* subtracted from the site's sums */
	int64_t live_b, live_k;    /* its live bytes and blocks at the fork */
} __attribute__((aligned(64)));
#define BASE_POOL (2 * ((size_t)SITES_MAX + 1))   /* one per site, and as many lost races */

struct chunk {
	struct chunk *prev;        /* for the footprint count */
	size_t size;
	size_t used;               /* bump offset, atomic */
	char data[] __attribute__((aligned(64)));
};

static struct pair gword;                   /* {G, M | R | mode}: see "The global word" */
static struct pair gpeak;                   /* {M at last raise, time of that raise} */
static uintptr_t *small;                   /* SMALL_N chains: head site | FROZEN */
static struct site **large;                 /* LARGE_N chains */
static struct site **idtab;                 /* id -> site, SITES_MAX + 1 entries */
static uint32_t nsites;                     /* highest id handed out */
static struct chunk *cur_chunk;
static size_t chunk_bytes;                  /* total mapped for chunks */
static uint64_t short_ticks;                /* the short-lived threshold, in ticks (clock.h) */
static uint64_t life_epoch;                 /* in a forked child: the fork (births before count from it) */
static int inited;                          /* 0 no, 1 yes, -1 failed */
static int owners_ok;                       /* 16-byte SSE stores are atomic (AVX) */
static struct site overflow_site;
/* Fork generations (see "Fork"): this process's, the offset of its keys, and the
 * baselines of the inherited sites it has written to, by site id. */
static uint8_t fork_gen;                    /* 0 in the first process */
static uint64_t key_base;                   /* above every key of the parent's */
static struct fork_base **bases;            /* SITES_MAX + 1 entries, wiped on fork */
static struct fork_base *base_pool;         /* BASE_POOL records, wiped on fork */
static size_t base_used;                    /* records handed out (atomic) */

/* ------------------------------------------------------------ 16-byte atomics */

static inline struct pair pair_load(struct pair *p)
{
	/* A CAS that never succeeds (or succeeds writing the same value) reads atomically. */
	unsigned __int128 v = __sync_val_compare_and_swap((unsigned __int128 *)p, 0, 0);
	return (struct pair){ (uint64_t)v, (uint64_t)(v >> 64) };
}

/* The same for a reader that must not write: a compare-and-swap is a write, which in
 * a fork child copies the page (every page of the site arena, for a profile). With
 * AVX an aligned 16-byte load is atomic (as owners' stores are, see the top). */
static inline struct pair pair_read(struct pair *p, int sse_atomic)
{
	if (!sse_atomic)
		return pair_load(p);
	__m128i v = _mm_load_si128((const __m128i *)p);
	return (struct pair){ (uint64_t)_mm_cvtsi128_si64(v),
			      (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)) };
}

static inline int pair_cas(struct pair *p, struct pair *old, struct pair nw)
{
	unsigned __int128 o = (unsigned __int128)old->a | ((unsigned __int128)old->b << 64);
	unsigned __int128 n = (unsigned __int128)nw.a | ((unsigned __int128)nw.b << 64);
	unsigned __int128 r = __sync_val_compare_and_swap((unsigned __int128 *)p, o, n);
	if (r == o)
		return 1;
	old->a = (uint64_t)r;
	old->b = (uint64_t)(r >> 64);
	return 0;
}

static inline void atomic_max(int64_t *p, int64_t v)
{
	int64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);
	while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, 1, __ATOMIC_RELAXED,
						       __ATOMIC_RELAXED))
		;
}

#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define LOAD(p)   __atomic_load_n((p), __ATOMIC_RELAXED)

static inline uint64_t nonneg(int64_t v)
{
	return v > 0 ? (uint64_t)v : 0;
}

static inline void sums_add(struct local_sums *r, const struct local_sums *v)
{
	r->tb += LOAD(&v->tb);
	r->tbk += LOAD(&v->tbk);
	r->tl += LOAD(&v->tl);
	r->birth_sum += LOAD(&v->birth_sum);
	r->short_k += LOAD(&v->short_k);
}

/* Maxima are stored tagged with the fork generation they were reached in ("Fork"). */
#define TAG_SHIFT 55

static inline int64_t max_tag(int64_t v)
{
	uint64_t u = nonneg(v);
	if (u >= 1ull << TAG_SHIFT)
		u = (1ull << TAG_SHIFT) - 1;
	return (int64_t)((uint64_t)fork_gen << TAG_SHIFT | u);
}

/* A stored maximum's value in this process: 0 when it is another generation's. */
static inline int64_t max_value(int64_t t)
{
	if ((uint64_t)t >> TAG_SHIFT != fork_gen)
		return 0;
	return (int64_t)((uint64_t)t & ((1ull << TAG_SHIFT) - 1));
}

/* ------------------------------------------------------------ arena */

static void *map(size_t size)
{
	return forkmem_map(size);
}

/* Lock-free bump allocation; a full chunk is replaced by CAS (the loser unmaps). */
static void *arena_alloc(size_t size)
{
	size = (size + 63) & ~(size_t)63;
	for (;;) {
		struct chunk *c = __atomic_load_n(&cur_chunk, __ATOMIC_ACQUIRE);
		if (c) {
			size_t off = __atomic_fetch_add(&c->used, size, __ATOMIC_RELAXED);
			if (off + size <= c->size)
				return c->data + off;
		}
		size_t csize = size + sizeof(struct chunk) > CHUNK_SIZE ? size + sizeof(struct chunk)
									 : CHUNK_SIZE;
		struct chunk *n = map(csize);
		if (!n)
			return NULL;
		n->prev = c;
		n->size = csize - sizeof(struct chunk);
		n->used = 0;
		if (__atomic_compare_exchange_n(&cur_chunk, &c, n, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			ADD(&chunk_bytes, csize);
		else
			forkmem_unmap(n, csize);
	}
}

/* ------------------------------------------------------------ init */

int sites_init(void)
{
	int st = __atomic_load_n(&inited, __ATOMIC_ACQUIRE);
	if (st)
		return st > 0 ? 0 : -1;
	/* Called once from the runtime's init (single caller by construction). */
	small = map(SMALL_N * sizeof(*small));
	large = map(LARGE_N * sizeof(*large));
	idtab = map(((size_t)SITES_MAX + 1) * sizeof(*idtab));
	if (!small || !large || !idtab) {
		__atomic_store_n(&inited, -1, __ATOMIC_RELEASE);
		return -1;
	}
	owners_ok = cpu_has_avx();
	/* Address space only: a fork child writes a pointer and a 64-byte record for each
	 * inherited site it touches. Without them every fork resets eagerly. */
	bases = forkmem_map_wiped(((size_t)SITES_MAX + 1) * sizeof(*bases));
	base_pool = bases ? forkmem_map_wiped(BASE_POOL * sizeof(*base_pool)) : NULL;
	if (!base_pool && bases) {
		forkmem_unmap(bases, ((size_t)SITES_MAX + 1) * sizeof(*bases));
		bases = NULL;
	}
	overflow_site.id = SITES_OVERFLOW;
	idtab[SITES_OVERFLOW] = &overflow_site;
	nsites = SITES_OVERFLOW;
	__atomic_store_n(&inited, 1, __ATOMIC_RELEASE);
	return 0;
}

void sites_set_short_lived(uint64_t ns)
{
	__atomic_store_n(&short_ticks, clock_span_ticks(ns), __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ interning */

static inline uint64_t hash_stack(const uintptr_t *ips, unsigned depth)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ depth;
	for (unsigned i = 0; i < depth; i++) {
		h ^= ips[i];
		h *= 0xFF51AFD7ED558CCDull;
		h ^= h >> 32;
	}
	return h;
}

static struct site *find(struct site *s, struct site *stop, uint64_t h,
			 const uintptr_t *ips, unsigned depth)
{
	for (; s && s != stop; s = s->next)
		if (s->hash == h && s->depth == depth &&
		    memcmp(s->ips, ips, depth * sizeof(*ips)) == 0)
			return s;
	return NULL;
}

static inline struct site *unfrozen(uintptr_t head)
{
	return (struct site *)(head & ~FROZEN);
}

struct site *sites_intern_site(const uintptr_t *ips, unsigned depth)
{
	if (depth > SITES_MAX_DEPTH)
		depth = SITES_MAX_DEPTH;
	uint64_t h = hash_stack(ips, depth);
	uintptr_t *sb = &small[h & (SMALL_N - 1)];
	uintptr_t sv = __atomic_load_n(sb, __ATOMIC_ACQUIRE);
	struct site *s = find(unfrozen(sv), NULL, h, ips, depth);
	if (s)
		return s;
	struct site **b = &large[(h >> SMALL_BITS) & (LARGE_N - 1)];
	struct site *head = NULL;
	if (sv & FROZEN) {
		head = __atomic_load_n(b, __ATOMIC_ACQUIRE);
		s = find(head, NULL, h, ips, depth);
		if (s)
			return s;
	}

	if (LOAD(&nsites) >= SITES_MAX)
		return &overflow_site;
	uint32_t id = __atomic_add_fetch(&nsites, 1, __ATOMIC_ACQ_REL);
	if (id > SITES_MAX)
		return &overflow_site;
	s = arena_alloc(sizeof(struct site) + depth * sizeof(uintptr_t));
	if (!s)
		return &overflow_site;   /* id stays a hole: readers skip it */
	s->hash = h;
	s->id = id;
	s->gen = fork_gen;   /* nothing inherited: no baseline */
	s->depth = (uint16_t)depth;
	memcpy(s->ips, ips, depth * sizeof(*ips));
	/* Published by id before it can be found by stack, so an event on an id that
	 * another thread just found always reaches the site. */
	__atomic_store_n(&idtab[id], s, __ATOMIC_RELEASE);
	while (id <= SMALL_SITES && !(sv & FROZEN)) {
		s->next = unfrozen(sv);
		if (__atomic_compare_exchange_n(sb, &sv, (uintptr_t)s, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return s;
		/* Someone inserted first (or froze the chain): was it this stack? */
		struct site *other = find(unfrozen(sv), s->next, h, ips, depth);
		if (other) {
			s->dead = 1;
			return other;
		}
	}
	/* The large table: the small chain frozen first, then searched whole, and the
	 * large chain as it is now (a head read before may be stale). */
	while (!(sv & FROZEN) && !__atomic_compare_exchange_n(sb, &sv, sv | FROZEN, 0,
							       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	head = __atomic_load_n(b, __ATOMIC_ACQUIRE);
	struct site *other = find(unfrozen(sv), NULL, h, ips, depth);
	if (!other)
		other = find(head, NULL, h, ips, depth);
	if (other) {
		s->dead = 1;
		return other;
	}
	for (;;) {
		s->next = head;
		if (__atomic_compare_exchange_n(b, &head, s, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return s;
		/* Someone inserted first: was it this stack? Then ours stays unused
		 * (tbk 0, so the writer skips it). */
		struct site *other = find(head, s->next, h, ips, depth);
		if (other) {
			s->dead = 1;
			return other;
		}
	}
}

site_id sites_intern(const uintptr_t *ips, unsigned depth)
{
	return sites_intern_site(ips, depth)->id;
}

site_id sites_id(const struct site *s)
{
	return s->id;
}

static inline struct site *site_of(site_id id)
{
	if (id == 0 || id > SITES_MAX)
		return NULL;
	return __atomic_load_n(&idtab[id], __ATOMIC_ACQUIRE);
}

struct site *sites_site(site_id id)
{
	return site_of(id);
}

const uintptr_t *sites_site_stack(const struct site *s, unsigned *depth)
{
	*depth = s->depth;
	return s->ips;
}

/* ------------------------------------------------------------ events */

/* Packing of the per-site peak word: a = key (< 2^48) | low 16 bits of the byte sum;
 * b = high 24 bits of the byte sum | block sum (40 bits). Sums are two's complement. */
#define SUM_BITS 40
#define SUM_MASK ((1ull << SUM_BITS) - 1)

static inline uint64_t pk_key(struct pair p) { return p.a >> 16; }
static inline int64_t sext(uint64_t v) { return (int64_t)(v << (64 - SUM_BITS)) >> (64 - SUM_BITS); }
static inline int64_t pk_bytes(struct pair p) { return sext((p.a & 0xFFFF) | ((p.b >> SUM_BITS) << 16)); }
static inline int64_t pk_blocks(struct pair p) { return sext(p.b & SUM_MASK); }

static inline struct pair pk_make(uint64_t key, int64_t bytes, int64_t blocks)
{
	uint64_t ub = (uint64_t)bytes & SUM_MASK, uk = (uint64_t)blocks & SUM_MASK;
	return (struct pair){ (key << 16) | (ub & 0xFFFF), ((ub >> 16) << SUM_BITS) | uk };
}

/* The peak word after an event with this key; 0 when the word stays as it is (an
 * event before the site's newest key, hence before the final peak). */
static inline int pk_next(struct pair old, uint64_t key, int64_t bytes, int64_t blocks,
			  struct pair *nw)
{
	uint64_t k = pk_key(old);
	if (key > k)
		*nw = pk_make(key, bytes, blocks);
	else if (key == k)
		*nw = pk_make(key, pk_bytes(old) + bytes, pk_blocks(old) + blocks);
	else
		return 0;
	return 1;
}

static inline void peak_add(struct pair *w, uint64_t key, int64_t bytes, int64_t blocks)
{
	struct pair old = { LOAD(&w->a), LOAD(&w->b) };
	struct pair nw;
	do {
		if (!pk_next(old, key, bytes, blocks, &nw))
			return;
	} while (!pair_cas(w, &old, nw));
}

/* A thread's area holds one slot per site id, a cache line each, so an event
 * touches one line of the area (40-byte entries straddled two lines half the time). */
struct area_slot {
	struct local_sums s;
} __attribute__((aligned(64)));

struct sites_local {
	struct sites_local *next;      /* all areas, push-only */
	struct area_slot *v;           /* indexed by site id, SITES_MAX + 1 entries */
	/* Its own line: the thread's share of the global live bytes (see "The global
	 * word"), written by the thread on every event and by others only to revoke it. */
	uint64_t budget __attribute__((aligned(64)));   /* pending << 16 | units; 0: none */
	uint64_t key;                  /* the key of every event made under the budget */
	uint64_t global_events;        /* this thread's events that used the global word */
	int64_t live_k;                /* blocks allocated less blocks freed by this thread
					* (plain stores by it): sites_live sums these */
	uint64_t used;                 /* v written since the start or the fork: readers
					* skip it otherwise (a wiped area's every page
					* would fault in to be read as zeros) */
};
static struct sites_local *locals;
static uint64_t arealess_global_events;   /* events of threads without an area */
static int64_t arealess_live_k;           /* their blocks allocated less freed */

/* Plain stores by the owning thread, read by the writer: aligned 64-bit stores are
 * never torn on the machines this runs on; the relaxed atomics say so. */
#define BUMP(p, v) __atomic_store_n((p), __atomic_load_n((p), __ATOMIC_RELAXED) + (v), __ATOMIC_RELAXED)

struct sites_local *sites_local_new(void)
{
	struct sites_local *l = map(sizeof(*l));
	if (!l)
		return NULL;
	/* A child restarts every area from zero (sites_reset_after_fork): nothing to copy. */
	l->v = forkmem_map_wiped(((size_t)SITES_MAX + 1) * sizeof(*l->v));
	if (!l->v) {
		forkmem_unmap(l, sizeof(*l));
		return NULL;
	}
	l->next = __atomic_load_n(&locals, __ATOMIC_ACQUIRE);
	while (!__atomic_compare_exchange_n(&locals, &l->next, l, 1, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE))
		;
	return l;
}

/* ------------------------------------------------------------ the global word */

/* The global word {G, M | R | mode}: G the live bytes published to it (signed), M
 * the maximum of the live bytes, R the budget units handed out, the mode.
 *
 * Budgets. Only an event that takes the live bytes above M can raise the peak. While
 * the heap stays well below its peak, each thread holds a budget: a share of the room
 * M - G - R, taken out of that room (added to R), which it may use without telling
 * anyone, keeping its pending delta (the sum of its events' byte deltas since it took
 * the budget) in its own cache line (sites_local.budget). The live bytes are G plus
 * every pending delta, at most G + R <= M: no event under a budget can make a new
 * maximum, and each such event has the key 2M+1 of events after the maximum M was
 * reached. An event that would take its thread's pending delta above the budget
 * gives the budget back (the pending delta published into G, the units out of R)
 * and goes to the global word, which may hand it a new budget.
 *
 * Near the peak. An event that could take G + R above M first takes every budget
 * back (mode REVOKING: each thread's line is exchanged with 0 and what it held
 * published; a thread that finds the mode REVOKING does the same walk before going
 * on). G is then the live bytes, and every event goes through the global word with
 * cmpxchg16b (mode EXACT): one total order in which the maximum is exact, as with no
 * budgets at all. A free that leaves EXIT_ROOM or more below M returns to mode BUDGET.
 *
 * The order of events. An event under a budget takes place at the locked update of
 * its thread's line, any other at its update of the global word; a revocation takes
 * a thread's line before any event that depends on it. So the events keep every
 * thread's own order and every order the program imposes (a free after its malloc,
 * a lock, a barrier, a queue): the peak, its time and each site's share of it are
 * those of the order in which the events really happened, exactly as when every
 * event updated the global word. What changes is the cost: under a budget an event's
 * locked instruction is on a line that no other thread writes (except to revoke), so
 * threads that allocate at once below the peak share no written cache line here. */
#define GRAIN_SHIFT 12                      /* budgets count 4 KiB units */
#define R_MAX       16383u                  /* R: 14 bits */
#define BUDGET_MAX  256u                    /* one thread's budget: 1 MiB at most */
#define EXIT_ROOM   ((int64_t)32 << 10)     /* room below M that ends mode EXACT */

enum { MODE_BUDGET = 0, MODE_REVOKING = 1, MODE_EXACT = 2 };

static inline uint64_t gw_max(uint64_t b) { return b >> 16; }
static inline uint64_t gw_res(uint64_t b) { return (b >> 2) & R_MAX; }
static inline unsigned gw_mode(uint64_t b) { return (unsigned)(b & 3); }
static inline uint64_t gw_make(uint64_t m, uint64_t r, unsigned mode)
{
	return m << 16 | r << 2 | mode;
}

/* A thread's budget word: pending delta (48 bits, signed) << 16 | units; 0: none. */
static inline int64_t bud_pending(uint64_t w) { return (int64_t)w >> 16; }
static inline uint64_t bud_units(uint64_t w) { return w & 0xFFFF; }

static void peak_record_time(uint64_t m, uint64_t now)
{
	struct pair old = { LOAD(&gpeak.a), LOAD(&gpeak.b) };
	while (m > old.a)
		if (pair_cas(&gpeak, &old, (struct pair){ m, now }))
			break;
}

/* Publish a budget word taken from a thread: its pending delta into G, its units
 * out of R. */
static void budget_settle(uint64_t w)
{
	if (!w)
		return;
	struct pair old = { LOAD(&gword.a), LOAD(&gword.b) }, nw;
	uint64_t u = bud_units(w);
	do {
		uint64_t r = gw_res(old.b);
		nw.a = old.a + (uint64_t)bud_pending(w);
		nw.b = gw_make(gw_max(old.b), r > u ? r - u : 0, gw_mode(old.b));
	} while (!pair_cas(&gword, &old, nw));
}

/* Take every thread's budget back. */
static void budgets_revoke(void)
{
	for (struct sites_local *u = __atomic_load_n(&locals, __ATOMIC_ACQUIRE); u; u = u->next)
		if (LOAD(&u->budget))
			budget_settle(__atomic_exchange_n(&u->budget, 0, __ATOMIC_SEQ_CST));
}

/* Hand thread area l (holding none) a budget, if the heap is well below its peak. */
static void budget_take(struct sites_local *l)
{
	struct pair old = { LOAD(&gword.a), LOAD(&gword.b) }, nw;
	uint64_t m, units;
	do {
		if (gw_mode(old.b) != MODE_BUDGET)
			return;
		m = gw_max(old.b);
		uint64_t r = gw_res(old.b);
		int64_t room = (int64_t)m - (int64_t)old.a - (int64_t)(r << GRAIN_SHIFT);
		units = room > 0 ? (uint64_t)(room / 4) >> GRAIN_SHIFT : 0;
		if (units > BUDGET_MAX)
			units = BUDGET_MAX;
		if (units > R_MAX - r)
			units = R_MAX - r;
		if (!units)
			return;
		nw.a = old.a;
		nw.b = gw_make(m, r + units, MODE_BUDGET);
	} while (!pair_cas(&gword, &old, nw));
	l->key = key_base + 2 * m + 1;
	__atomic_store_n(&l->budget, units, __ATOMIC_SEQ_CST);
	/* A revocation that walked past this thread before the budget was in place did
	 * not take it back: give it back now if the mode or the maximum moved since. */
	uint64_t b = __atomic_load_n(&gword.b, __ATOMIC_SEQ_CST);
	if (gw_mode(b) != MODE_BUDGET || gw_max(b) != m)
		budget_settle(__atomic_exchange_n(&l->budget, 0, __ATOMIC_SEQ_CST));
}

/* An event that cannot use its thread's budget (l may be NULL: no area). */
static uint64_t __attribute__((noinline)) global_slow(struct sites_local *l, int64_t delta,
						     uint64_t now)
{
	if (l) {
		if (LOAD(&l->budget))   /* over its budget (none: no locked write here) */
			budget_settle(__atomic_exchange_n(&l->budget, 0, __ATOMIC_SEQ_CST));
		BUMP(&l->global_events, 1);
	} else {
		ADD(&arealess_global_events, 1);
	}
	struct pair old = { LOAD(&gword.a), LOAD(&gword.b) }, nw;
	for (;;) {
		uint64_t m = gw_max(old.b), r = gw_res(old.b);
		int64_t g = (int64_t)old.a + delta;
		switch (gw_mode(old.b)) {
		case MODE_BUDGET:
			nw.a = (uint64_t)g;
			nw.b = old.b;
			if (delta > 0 && g + (int64_t)(r << GRAIN_SHIFT) > (int64_t)m)
				/* It may make a new maximum: every budget back first. */
				nw = (struct pair){ old.a, gw_make(m, r, MODE_REVOKING) };
			else if (pair_cas(&gword, &old, nw)) {
				if (l)
					budget_take(l);
				return key_base + 2 * m + 1;
			} else
				continue;
			if (pair_cas(&gword, &old, nw))
				old = nw;
			continue;
		case MODE_REVOKING:
			budgets_revoke();
			old = (struct pair){ LOAD(&gword.a), LOAD(&gword.b) };
			while (gw_mode(old.b) == MODE_REVOKING) {
				nw = (struct pair){ old.a, (old.b & ~3ull) | MODE_EXACT };
				if (pair_cas(&gword, &old, nw))
					old = nw;
			}
			continue;
		default: {
			/* MODE_EXACT: G is the live bytes, this word orders every event. */
			int raised = delta > 0 && g > (int64_t)m;
			uint64_t nm = raised ? (uint64_t)g : m;
			unsigned mode = MODE_EXACT;
			if (delta < 0 && (int64_t)nm - g - (int64_t)(r << GRAIN_SHIFT) >= EXIT_ROOM)
				mode = MODE_BUDGET;
			nw = (struct pair){ (uint64_t)g, gw_make(nm, r, mode) };
			if (!pair_cas(&gword, &old, nw))
				continue;
			if (raised) {
				peak_record_time(nm, now);
				return key_base + 2 * nm;
			}
			if (mode == MODE_BUDGET && l)
				budget_take(l);
			return key_base + 2 * nm + 1;
		}
		}
	}
}

/* Apply delta bytes to the live bytes; returns the event's key (see the top comment):
 * under the thread's budget, one locked instruction on the thread's own line. */
static inline uint64_t global_event(struct sites_local *l, int64_t delta, uint64_t now)
{
	if (likely(l)) {
		/* Within [-budget, budget]: a thread that frees what others allocated (a
		 * consumer) publishes its frees now and then, so the room below the peak
		 * that G shows does not shrink while the live bytes do not grow. */
		uint64_t w = LOAD(&l->budget), u = bud_units(w);
		int64_t p = bud_pending(w) + delta, b = (int64_t)(u << GRAIN_SHIFT);
		if (likely(u && p <= b && p >= -b) &&
		    likely(__atomic_compare_exchange_n(&l->budget, &w, (uint64_t)p << 16 | u, 0,
						       __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)))
			return l->key;
	}
	if (delta == 0)
		return key_base + gw_max(LOAD(&gword.b)) * 2 + 1;
	return global_slow(l, delta, now);
}

uint64_t sites_global_events(void)
{
	uint64_t n = LOAD(&arealess_global_events);
	for (struct sites_local *l = __atomic_load_n(&locals, __ATOMIC_ACQUIRE); l; l = l->next)
		n += LOAD(&l->global_events);
	return n;
}

/* The live bytes: G and every thread's pending delta (read one after another: exact
 * when no event runs meanwhile). */
static uint64_t live_bytes(uint64_t g)
{
	int64_t v = (int64_t)g;
	for (struct sites_local *l = __atomic_load_n(&locals, __ATOMIC_ACQUIRE); l; l = l->next)
		v += bud_pending(LOAD(&l->budget));
	return v > 0 ? (uint64_t)v : 0;
}

/* The owner's peak word: read and written by the owner only (others read it with
 * pair_load): plain loads, one 16-byte store. */
static inline void peak_add_owned(struct pair *w, uint64_t key, int64_t bytes, int64_t blocks)
{
	struct pair nw;
	if (!pk_next(*w, key, bytes, blocks, &nw))
		return;
	_mm_store_si128((__m128i *)w, _mm_set_epi64x((long long)nw.b, (long long)nw.a));
}

/* Whether `l`'s thread owns site s, claiming it at the site's first event. */
static inline int owns(struct site *s, struct sites_local *l)
{
	if (unlikely(!l || !owners_ok))
		return 0;
	struct sites_local *o = LOAD(&s->owner);
	if (likely(o == l))
		return 1;
	if (o)
		return 0;
	return __atomic_compare_exchange_n(&s->owner, &o, l, 0, __ATOMIC_RELAXED,
					   __ATOMIC_RELAXED);
}

#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* What every event does to the global word and the site's shared state. */
static inline int shared_alloc(struct sites_local *l, struct site *s, uint64_t size,
			       uint64_t now)
{
	int64_t b, k;
	int o = owns(s, l);
	if (o) {
		/* The owner's part is stored before the global word's locked update,
		 * which orders it before its load of the other part: of an owner's and
		 * another thread's overlapping allocations, the later sees both. */
		b = s->o_curr_b + (int64_t)size;
		k = s->o_curr_k + 1;
		STORE(&s->o_curr_b, b);
		STORE(&s->o_curr_k, k);
		uint64_t key = global_event(l, (int64_t)size, now);
		peak_add_owned(&s->opk, key, (int64_t)size, 1);
		b += LOAD(&s->f_curr_b);
		k += LOAD(&s->f_curr_k);
	} else {
		uint64_t key = global_event(l, (int64_t)size, now);
		peak_add(&s->fpk, key, (int64_t)size, 1);
		b = ADD(&s->f_curr_b, (int64_t)size) + LOAD(&s->o_curr_b);
		k = ADD(&s->f_curr_k, 1) + LOAD(&s->o_curr_k);
	}
	atomic_max(&s->max_b, max_tag(b));
	atomic_max(&s->max_k, max_tag(k));
	return o;
}

static inline int shared_free(struct sites_local *l, struct site *s, uint64_t size,
			      uint64_t now)
{
	uint64_t key = global_event(l, -(int64_t)size, now);
	int o = owns(s, l);
	if (o) {
		peak_add_owned(&s->opk, key, -(int64_t)size, -1);
		STORE(&s->o_curr_b, s->o_curr_b - (int64_t)size);
		STORE(&s->o_curr_k, s->o_curr_k - 1);
	} else {
		peak_add(&s->fpk, key, -(int64_t)size, -1);
		ADD(&s->f_curr_b, -(int64_t)size);
		ADD(&s->f_curr_k, -1);
	}
	return o;
}

/* ------------------------------------------------------------ fork */

/* A fork child counts what it inherited as live, allocated at the fork, and nothing
 * else of the parent's (sites_reset_after_fork). It used to rewrite every inherited site
 * at once, which made the child copy every page of the site arena (copy-on-write) even
 * when it then touched three sites. Now nothing is written at the fork; each site knows
 * the fork generation it was last written in (gen), and a site of an older generation
 * reads as the reset would have left it, computed from the fields the fork left. Its
 * first event in the child (site_adopt) stores that as a baseline (struct fork_base,
 * one record in a table wiped on fork) and moves gen on; from then on its events
 * update the fields as in any process and the reads subtract the baseline:
 * - sums: the fields' sums less the baseline's d, which is what they held at the fork
 *   less what the child counts of it (its live blocks, allocated at the fork);
 * - live bytes and blocks: the fields as they are (each part goes on as before);
 * - maxima: stored tagged with the generation (max_tag), so a maximum of the parent's
 *   never passes for one of the child's; the child's is at least what was live;
 * - peak words: every key of the child is above every key of its parent (key_base),
 *   so a parent's peak word is never "after the child's peak" and the child's first
 *   event there overwrites it.
 * Adopting is idempotent and lock-free: until gen moves, nobody writes the fields, so
 * every thread (or signal handler) that adopts computes the same baseline and the
 * first record installed wins; a thread only writes the fields once gen has moved.
 * Generations are 8 bits and keys 48: a child that would run out of either resets
 * eagerly, as before, and starts the count again. */

/* The baseline of a site of an older generation, from its fields as the fork left
 * them (no event of this process has written them). */
static void base_compute(struct site *s, struct fork_base *fb)
{
	struct local_sums raw = { 0, 0, 0, 0, 0 };
	sums_add(&raw, &s->shared);
	sums_add(&raw, &s->own);
	fb->live_b = LOAD(&s->o_curr_b) + LOAD(&s->f_curr_b);
	fb->live_k = LOAD(&s->o_curr_k) + LOAD(&s->f_curr_k);
	uint64_t k = nonneg(fb->live_k);
	fb->d = (struct local_sums){
		.tb = raw.tb - nonneg(fb->live_b),
		.tbk = raw.tbk - k,
		.tl = raw.tl,
		.birth_sum = raw.birth_sum - k * life_epoch,   /* born at the fork */
		.short_k = raw.short_k,
	};
}

/* The baseline that site s (read as generation g) has in this process: 0 if none. */
static inline int site_base(struct site *s, uint8_t g, struct fork_base *fb)
{
	if (g != fork_gen) {
		base_compute(s, fb);
		return 1;
	}
	struct fork_base *r = bases ? __atomic_load_n(&bases[s->id], __ATOMIC_ACQUIRE) : NULL;
	if (!r)
		return 0;
	*fb = *r;
	return 1;
}

/* The first event of this process at an inherited site: its baseline, then gen. */
static void __attribute__((noinline, cold)) site_adopt(struct site *s)
{
	uint8_t g = __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE);
	if (g == fork_gen || !bases)
		return;
	struct fork_base **slot = &bases[s->id];
	if (!__atomic_load_n(slot, __ATOMIC_ACQUIRE)) {
		size_t i = __atomic_fetch_add(&base_used, 1, __ATOMIC_RELAXED);
		if (i >= BASE_POOL)
			return;   /* cannot happen: a record per site and per lost race */
		struct fork_base *fb = &base_pool[i], *none = NULL;
		base_compute(s, fb);
		/* The loser's record stays unused. */
		__atomic_compare_exchange_n(slot, &none, fb, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	}
	__atomic_compare_exchange_n(&s->gen, &g, fork_gen, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static inline void site_own(struct site *s)
{
	if (unlikely(__atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) != fork_gen))
		site_adopt(s);
}

/* ------------------------------------------------------------ events, by site */

/* The sums of site s in thread area l (for an event of a thread that does not own s). */
static inline struct local_sums *area_sums(struct sites_local *l, struct site *s)
{
	if (unlikely(!LOAD(&l->used)))
		__atomic_store_n(&l->used, 1, __ATOMIC_RELEASE);
	return &l->v[s->id].s;
}

void sites_alloc(struct sites_local *l, struct site *s, uint64_t size, uint64_t now)
{
	site_own(s);
	if (unlikely(!l)) {
		shared_alloc(l, s, size, now);
		ADD(&arealess_live_k, 1);
		ADD(&s->shared.tb, size);
		ADD(&s->shared.tbk, 1);
		ADD(&s->shared.birth_sum, now);
		return;
	}
	struct local_sums *v = shared_alloc(l, s, size, now) ? &s->own : area_sums(l, s);
	BUMP(&v->tb, size);
	BUMP(&v->tbk, 1);
	BUMP(&v->birth_sum, now);
	BUMP(&l->live_k, 1);
}

void sites_free(struct sites_local *l, struct site *s, uint64_t size, uint64_t birth,
		uint64_t now)
{
	site_own(s);
	int o = shared_free(l, s, size, now);
	if (unlikely(birth < life_epoch))
		birth = life_epoch;   /* inherited by a forked child: its life there began at the fork */
	uint64_t life = now > birth ? now - birth : 0;
	uint64_t short_t = LOAD(&short_ticks);
	if (unlikely(!l)) {
		ADD(&arealess_live_k, -1);
		ADD(&s->shared.tl, life);
		ADD(&s->shared.birth_sum, -birth);
		if (life < short_t)
			ADD(&s->shared.short_k, 1);
		return;
	}
	struct local_sums *v = o ? &s->own : area_sums(l, s);
	BUMP(&v->tl, life);
	BUMP(&v->birth_sum, -birth);
	BUMP(&l->live_k, -1);
	if (life < short_t)
		BUMP(&v->short_k, 1);
}

void sites_on_alloc_local(struct sites_local *l, site_id id, uint64_t size, uint64_t now)
{
	struct site *s = site_of(id);
	if (s)
		sites_alloc(l, s, size, now);
}

void sites_on_free_local(struct sites_local *l, site_id id, uint64_t size, uint64_t birth,
			 uint64_t now)
{
	struct site *s = site_of(id);
	if (s)
		sites_free(l, s, size, birth, now);
}

void sites_on_alloc(site_id id, uint64_t size, uint64_t now)
{
	sites_on_alloc_local(NULL, id, size, now);
}

void sites_on_free(site_id id, uint64_t size, uint64_t birth, uint64_t now)
{
	sites_on_free_local(NULL, id, size, birth, now);
}

/* The site's sums: its shared counters plus every thread area's. */
static struct local_sums sums_of(struct site *s, site_id id)
{
	struct local_sums r = { 0, 0, 0, 0, 0 };
	sums_add(&r, &s->shared);
	sums_add(&r, &s->own);
	for (struct sites_local *l = __atomic_load_n(&locals, __ATOMIC_ACQUIRE); l; l = l->next)
		if (LOAD(&l->used))
			sums_add(&r, &l->v[id].s);
	return r;
}

/* ------------------------------------------------------------ reading */

uint32_t sites_count(void)
{
	uint32_t n = LOAD(&nsites);
	return n > SITES_MAX ? SITES_MAX : n;
}

const uintptr_t *sites_stack(site_id id, unsigned *depth)
{
	struct site *s = site_of(id);
	*depth = s ? s->depth : 0;
	return s ? s->ips : NULL;
}

/* One part's value at the final peak: its current value minus what happened to it
 * after the peak. */
static void part_at_peak(struct pair *w, int64_t cb, int64_t ck, uint64_t final_key,
			 int64_t *gb, int64_t *gbk)
{
	struct pair p = pair_read(w, owners_ok);
	int after = pk_key(p) == (final_key & ((1ull << 48) - 1));
	*gb = after ? cb - pk_bytes(p) : cb;
	*gbk = after ? ck - pk_blocks(p) : ck;
}

/* The site's value at the final peak: the sum of its parts'. */
static void at_peak(struct site *s, uint64_t final_key, uint64_t *gb, uint64_t *gbk)
{
	int64_t ob, ok, fb, fk;
	part_at_peak(&s->opk, LOAD(&s->o_curr_b), LOAD(&s->o_curr_k), final_key, &ob, &ok);
	part_at_peak(&s->fpk, LOAD(&s->f_curr_b), LOAD(&s->f_curr_k), final_key, &fb, &fk);
	*gb = nonneg(ob + fb);
	*gbk = nonneg(ok + fk);
}

static inline int64_t curr_b(struct site *s)
{
	return LOAD(&s->o_curr_b) + LOAD(&s->f_curr_b);
}

static inline int64_t curr_k(struct site *s)
{
	return LOAD(&s->o_curr_k) + LOAD(&s->f_curr_k);
}

static inline uint64_t final_key_now(void)
{
	return key_base + gw_max(LOAD(&gword.b)) * 2 + 1;
}

/* What site s holds now in this process (see "Fork"), unclamped. */
struct site_now {
	int64_t cb, ck;            /* live bytes, blocks */
	struct local_sums sum;
	uint64_t gb, gbk;          /* at the final peak */
	uint64_t mb, mbk;          /* maxima */
};

static void site_now(struct site *s, site_id id, uint64_t final_key, struct site_now *o)
{
	/* An event between the live counts and the sums would make them disagree (a
	 * block freed meanwhile counts as live with its birth gone from birth_sum: its
	 * lifetime would come out as `now`, the clock's whole count). Read again when
	 * the live blocks or the generation moved meanwhile; a few tries, then take what
	 * was read (sites_read's clamps keep it self-consistent). */
	struct fork_base fb;
	int based;
	int64_t mb, mbk;
	for (int tries = 0; ; tries++) {
		uint8_t g = __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE);
		based = site_base(s, g, &fb);
		o->cb = curr_b(s);
		o->ck = curr_k(s);
		o->sum = sums_of(s, id);
		mb = LOAD(&s->max_b);
		mbk = LOAD(&s->max_k);
		at_peak(s, final_key, &o->gb, &o->gbk);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if ((curr_k(s) == o->ck && __atomic_load_n(&s->gen, __ATOMIC_RELAXED) == g) ||
		    tries == 3)
			break;
	}
	o->mb = (uint64_t)max_value(mb);
	o->mbk = (uint64_t)max_value(mbk);
	if (based) {
		o->sum.tb -= fb.d.tb;
		o->sum.tbk -= fb.d.tbk;
		o->sum.tl -= fb.d.tl;
		o->sum.birth_sum -= fb.d.birth_sum;
		o->sum.short_k -= fb.d.short_k;
		if (o->mb < nonneg(fb.live_b))
			o->mb = nonneg(fb.live_b);
		if (o->mbk < nonneg(fb.live_k))
			o->mbk = nonneg(fb.live_k);
	}
}

void sites_read(site_id id, uint64_t now, struct site_stats *out)
{
	memset(out, 0, sizeof(*out));
	struct site *s = site_of(id);
	if (!s)
		return;
	struct site_now sn;
	site_now(s, id, final_key_now(), &sn);
	struct local_sums sum = sn.sum;
	out->tb = sum.tb;
	out->tbk = sum.tbk;
	out->eb = nonneg(sn.cb);
	out->ebk = nonneg(sn.ck);
	out->mb = sn.mb;
	out->mbk = sn.mbk;
	out->gb = sn.gb;
	out->gbk = sn.gbk;
	/* Events that overlap in time on one site have no single order: the site's own
	 * counters order them one way, the global word (which defines the peak) maybe
	 * another. Both are valid; report one consistent picture, in which the site's
	 * maximum is at least what it held at the peak. Exact when events on a site do
	 * not overlap (one thread, or a site's threads taking turns). */
	/* Likewise for a read that races an event: the live counts above were read before
	 * the sums, so an allocation or free in between could show a block as live that
	 * tb does not count yet, or as both live and freed (short_k). Clamp to the one
	 * picture in which every analyzer invariant holds (audioprof-json(5), "Validation"):
	 * eb, gb, mb <= tb, and the blocks likewise; gb, eb <= mb; bytes only with blocks;
	 * slk <= tbk - ebk. */
	uint64_t tb = out->tb, tbk = out->tbk;
	out->eb = out->eb < tb ? out->eb : tb;
	out->gb = out->gb < tb ? out->gb : tb;
	out->ebk = out->ebk < tbk ? out->ebk : tbk;
	out->gbk = out->gbk < tbk ? out->gbk : tbk;
	out->mb = out->mb < tb ? out->mb : tb;
	out->mbk = out->mbk < tbk ? out->mbk : tbk;
	if (!out->ebk)
		out->eb = 0;   /* bytes stored before blocks: no bytes live without a block */
	if (!out->gbk)
		out->gb = 0;
	if (out->gb > out->mb)
		out->mb = out->gb;
	if (out->eb > out->mb)
		out->mb = out->eb;
	if (out->gbk > out->mbk)
		out->mbk = out->gbk;
	if (out->ebk > out->mbk)
		out->mbk = out->ebk;
	/* Live blocks count their lifetime up to now: sum(now - birth) = k*now - sum(birth). */
	uint64_t live = out->ebk * now - sum.birth_sum;
	out->tl = clock_span_ns(sum.tl + ((int64_t)live > 0 ? live : 0));
	out->short_k = sum.short_k < tbk - out->ebk ? sum.short_k : tbk - out->ebk;
}

void sites_live(uint64_t *bytes, uint64_t *blocks)
{
	*bytes = *blocks = 0;
	if (LOAD(&inited) <= 0)
		return;
	*bytes = live_bytes(LOAD(&gword.a));
	/* Each thread's count, not each site's: a fork child inherits the counts with the
	 * areas' headers (copied, unlike their sums) and reads no site at all. */
	int64_t k = LOAD(&arealess_live_k);
	for (struct sites_local *l = __atomic_load_n(&locals, __ATOMIC_ACQUIRE); l; l = l->next)
		k += LOAD(&l->live_k);
	*blocks = nonneg(k);
}

void sites_totals(struct heap_totals *out)
{
	memset(out, 0, sizeof(*out));
	if (LOAD(&inited) <= 0)
		return;
	struct pair g = pair_load(&gword);
	struct pair pk = pair_load(&gpeak);
	out->curr_b = live_bytes(g.a);
	out->max_b = gw_max(g.b);
	out->tg = pk.a == out->max_b && pk.b ? clock_ns(pk.b) : 0;
	uint64_t final_key = key_base + out->max_b * 2 + 1;
	uint32_t n = sites_count();
	for (uint32_t id = 1; id <= n; id++) {
		struct site *s = site_of(id);
		if (!s)
			continue;
		struct site_now sn;
		site_now(s, id, final_key, &sn);
		uint64_t ck = nonneg(sn.ck), tbk = sn.sum.tbk;
		out->curr_k += ck;
		out->max_k += sn.gbk;
		out->total_b += sn.sum.tb;
		out->total_k += tbk;
		out->frees += tbk >= ck ? tbk - ck : 0;
	}
}

uint64_t sites_peak_ns(void)
{
	if (LOAD(&inited) <= 0)
		return 0;
	struct pair g = pair_load(&gword);
	struct pair pk = pair_load(&gpeak);
	return pk.a == gw_max(g.b) && pk.b ? clock_ns(pk.b) : 0;
}

/* ------------------------------------------------------------ fork, footprint */

/* Keys of a child start this far below 2^48 at most: room for a maximum of 2^46 bytes. */
#define KEY_BASE_MAX (1ull << 47)

void sites_reset_after_fork(uint64_t now)
{
	/* Every budget's pending delta is live bytes the child inherited. */
	/* Each area's header is written only if it must change: the areas of threads the
	 * child does not have (the profiler's own among them) stay shared with the parent. */
	int64_t live = (int64_t)gword.a;
	for (struct sites_local *l = locals; l; l = l->next) {
		live += bud_pending(l->budget);
		if (l->budget)
			l->budget = 0;
	}
	uint64_t next_base = key_base + 2 * gw_max(gword.b) + 2;   /* above all the parent's */
	uint64_t g = live > 0 ? (uint64_t)live : 0;
	gword.a = g;
	gword.b = gw_make(g, 0, MODE_EXACT);   /* the child's peak so far is what it inherited */
	gpeak.a = g;
	gpeak.b = now;
	life_epoch = now;
	for (struct sites_local *l = locals; l; l = l->next) {
		if (l->used) {
			forkmem_zero(l->v, ((size_t)SITES_MAX + 1) * sizeof(*l->v));
			l->used = 0;
		}
	}
	if (bases && fork_gen < UINT8_MAX && next_base < KEY_BASE_MAX) {
		/* Lazily (see "Fork"): no site is written here. */
		fork_gen++;
		key_base = next_base;
		if (base_used) {   /* else no record was made since the tables were zeros */
			forkmem_zero(bases, ((size_t)SITES_MAX + 1) * sizeof(*bases));
			forkmem_zero(base_pool, BASE_POOL * sizeof(*base_pool));
			base_used = 0;
		}
		return;
	}
	/* Out of generations or keys (or no baseline tables): every site now, as the first
	 * generation again. */
	fork_gen = 0;
	key_base = 0;
	if (bases) {
		forkmem_zero(bases, ((size_t)SITES_MAX + 1) * sizeof(*bases));
		forkmem_zero(base_pool, BASE_POOL * sizeof(*base_pool));
		base_used = 0;
	}
	uint32_t n = sites_count();
	for (uint32_t id = 1; id <= n; id++) {
		struct site *s = site_of(id);
		if (!s)
			continue;
		/* Everything inherited goes to the others' part; the owner's restarts. */
		int64_t b = LOAD(&s->o_curr_b) + LOAD(&s->f_curr_b);
		int64_t k = LOAD(&s->o_curr_k) + LOAD(&s->f_curr_k);
		s->f_curr_b = b;
		s->f_curr_k = k;
		s->o_curr_b = s->o_curr_k = 0;
		s->opk = s->fpk = (struct pair){ 0, 0 };
		s->max_b = max_tag(b);
		s->max_k = max_tag(k);
		/* Inherited live blocks stay live: the child's totals count them as its own
		 * allocations so that tbk >= ebk holds, born at the fork (the child's start:
		 * its te and lifetimes count from there; sites_free clamps to life_epoch). */
		s->shared.tb = nonneg(b);
		s->shared.tbk = nonneg(k);
		s->shared.tl = 0;
		s->shared.short_k = 0;
		s->shared.birth_sum = nonneg(k) * now;   /* the others start at zero */
		s->own = (struct local_sums){ 0, 0, 0, 0, 0 };
		s->gen = 0;
	}
}

/* What the tables, the arena and the threads' areas really have in memory. The tables
 * indexed by site id are asked about up to the last id only (never written beyond):
 * mincore over their whole reservation costs a short program more than its profile. */
size_t sites_footprint(void)
{
	size_t ids = (size_t)sites_count() + 1;
	size_t n = mem_resident(small, SMALL_N * sizeof(*small)) +
		   mem_resident(large, LARGE_N * sizeof(*large)) +
		   mem_resident(idtab, ids * sizeof(*idtab));
	for (struct chunk *c = __atomic_load_n(&cur_chunk, __ATOMIC_ACQUIRE); c; c = c->prev)
		n += mem_resident(c, c->size + sizeof(*c));
	for (struct sites_local *l = __atomic_load_n(&locals, __ATOMIC_ACQUIRE); l; l = l->next)
		n += mem_resident(l->v, ids * sizeof(*l->v));
	if (bases) {
		size_t used = LOAD(&base_used);
		n += mem_resident(bases, ids * sizeof(*bases)) +
		     mem_resident(base_pool, (used < BASE_POOL ? used : BASE_POOL) * sizeof(*base_pool));
	}
	return n;
}
