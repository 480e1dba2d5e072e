/* stacks.c - allocation stacks: our own CFI walker (unwind.c) on a miss, libunwind
 * where that walker cannot go, a validated per-thread cache on a hit.
 *
 * A miss walks with unwind_walk, which takes no lock, allocates nothing and makes no
 * syscall, and tells where on the stack each return address was read. Where it stops
 * early (code without CFI, a read outside the thread's stack) a thread off the audio
 * path walks again with libunwind's unw_backtrace (which takes the loader's and its own
 * locks), and then finds each return address's slot by searching up the stack from the
 * previous slot; an audio thread keeps the frames it has (a shorter stack, never a lock).
 *
 * Why the cache is exact: on x86-64 a call pushes its return address at the caller's
 * stack pointer minus 8. The cache key is the immediate caller's return address `ra`,
 * its stack pointer `cfa` and its frame pointer `fp`. For the usual frame whose
 * canonical frame address is "stack pointer + constant" (what gcc and clang emit
 * without frame pointers and without alloca), the address of each caller's return
 * address slot is a function of the key and the return addresses below it; so if every
 * remembered slot still holds the remembered return address, the walk done now yields
 * the same frames. A frame whose size varies (alloca, VLAs, realignment)
 * always has a frame pointer (gcc and clang force one), so for the innermost frame the
 * key also holds `fp` whenever it points into that frame; ordinary frames, where the
 * register holds data, get no key part from it. The one case left unproven: an outer
 * frame of varying size under a different chain of callers that exactly compensates
 * its size, with the old return addresses still lying in its uninitialised alloca
 * memory. Signal frames and stacks whose slots are not above `cfa` are never cached.
 * AUDIOPROF_STACK_CACHE=0 turns the cache off.
 *
 * Layout: 4096 sets of 4 ways to start with, doubled up to 32,768 in a thread that
 * keeps evicting (grow); each set's four 16-bit key tags share one 8-byte word,
 * so a lookup reads only the entry whose tag matches (then checks its full key). An
 * entry's first 56 bytes (in its first cache line at the default depth, where an entry
 * is two lines) hold its key and a copy of the return address its set was chosen by,
 * with that address's slot: a lookup passing through the set on its way to a deeper
 * one reads nothing else of the entry, nor the site.
 * A hit gives the site by pointer (stacks_site), which the allocation path keeps in
 * the block header: no id table on the hot path. A key that more stacks share than a
 * set has ways (a wrapper such as xmalloc, called from hundreds of places at one
 * depth) sends the lookup on to a set chosen by the key and a caller's return address
 * as well, read where a same-key entry found it (deep_hash); the entries there are
 * checked the same way, so which set holds an entry never changes what it means. */
#include "stacks.h"
#include "audio.h"
#include "fds.h"
#include "unwind.h"

#include <errno.h>
#include <libunwind.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* 4096 sets to start with: with deep keys (below) the cache holds each stack once, and
 * cc1 on one file has 18,500 of them (g++'s cc1plus on a template-heavy one, 88,000):
 * 2048 sets walked 36,000 (248,000) times, 4096 sets 24,000 (159,000). A thread that
 * keeps evicting live entries doubles its sets (grow), up to 32,768: the table is
 * reserved at that size (16 MB of address space with the default depth, about 2 MB of it
 * touched at most before the first doubling), so a thread with few stacks touches only
 * the pages its entries fall in, as before. */
#define SET_BITS_MIN  12
#define SET_BITS_MAX  15
#define SETS_MAX      (1u << SET_BITS_MAX)
#define CACHE_WAYS    4u     /* one caller seen from several chains at one depth */
#define SKIP_LIMIT    16     /* our own frames above the caller */
#define SCAN_LIMIT    (1u << 20)   /* largest frame searched for a return address */
#define DEEP_LEVELS   6      /* callers' return addresses a key may take in (deep_hash) */
/* Growth: once evictions of live entries since the last doubling reach an eighth of the
 * entries and one capture in GROW_RATE: a table that only overflows a few sets of a
 * thread's few stacks stays as it is. */
#define GROW_RATE     128u

struct cache_entry {
	/* All that a probe needs to turn the entry away: the key, and the frame its set
	 * was chosen by (see Layout above). */
	uintptr_t ra, cfa, fn;
	struct site *site;       /* NULL: empty */
	const uintptr_t *ips;    /* the site's frames (sites never move): no table lookup */
	uintptr_t chk_ip;        /* ips[lvl], a copy: the site's line is not read for it */
	uint32_t fpd;            /* the key's fp as fp - cfa + 1; 0: not part of the key */
	uint8_t depth;           /* frames in ips (>= 2); ips[0] = fn, ips[1] = ra */
	uint8_t lvl : 4;         /* the level (deep_hash) its set was chosen at, if
				  * lvl < depth; else 0 */
	uint8_t xlo : 4;         /* bits XLO_SHIFT.. of the hash its set and tag came
				  * from, which the tag lacks: where it goes when the
				  * table grows (grow) */
	uint16_t chk_off;        /* off[lvl] */
	/* followed by uint16_t off[depth]: (slot - (cfa - 8)) / 8; the frames themselves
	 * are the site's (sites_stack) */
};
_Static_assert(sizeof(struct cache_entry) == 56, "the key and the check fit one line "
	       "with the first slots");
_Static_assert(DEEP_LEVELS + 2 < 16, "a level fits the entry's four bits");
/* A set's index and its tag hold the hash's bits 49 - set_bits up; xlo the ones below
 * that a larger table's set and tag take in (down to 48 - SET_BITS_MAX). */
#define XLO_SHIFT (48 - SET_BITS_MAX)
_Static_assert(SET_BITS_MAX - SET_BITS_MIN + 1 <= 4, "xlo holds the bits growth needs");
_Static_assert(SITES_MAX_DEPTH <= UINT8_MAX, "depth fits the entry's byte");

struct stack_cache {
	unsigned depth;          /* configured frames per stack */
	unsigned victim;         /* round-robin replacement within a set */
	unsigned set_bits;       /* sets in use: 1 << set_bits (grow) */
	uint64_t evicted;        /* live entries replaced since the last doubling */
	uint64_t lookups0;       /* hits + misses + uncacheable at the last doubling */
	size_t entry_size;
	struct stacks_counters n; /* this thread's; read racily by the writer */
	uintptr_t stack_lo, stack_hi; /* this thread's stack; 0, 0 if unknown */
	struct unwind_shapes *shapes; /* the walker's frame shapes, after this header */
	/* The table (stacks_cache_table_size), apart from the header: a fork child
	 * may get it zeroed (empty), see stacks.h. Per set, a 16-bit tag of each way's
	 * key (0: empty), all four in 8 bytes: a lookup reads one small, mostly
	 * L1-resident word before touching any entry (scanning the entries' keys cost a
	 * cache miss per way). A tag match is then checked against the entry's full key. */
	uint64_t *tags;          /* [SETS_MAX], at the table's start */
	char *entries;           /* [SETS_MAX * CACHE_WAYS] of entry_size, after the tags */
};

static inline size_t entry_size(unsigned depth)
{
	size_t s = sizeof(struct cache_entry) + depth * sizeof(uint16_t);
	return (s + 15) & ~(size_t)15;
}

#define HEADER_SIZE ((sizeof(struct stack_cache) + 63) & ~(size_t)63)

size_t stacks_cache_size(unsigned depth)
{
	(void)depth;
	return HEADER_SIZE + unwind_shapes_size();
}

size_t stacks_cache_table_size(unsigned depth)
{
	return SETS_MAX * sizeof(uint64_t) + (size_t)SETS_MAX * CACHE_WAYS * entry_size(depth);
}

void stacks_cache_init(struct stack_cache *c, unsigned depth, void *table)
{
	/* The shapes are by code address, the same for every thread: a reused area keeps
	 * them (a new one is zero: empty). */
	c->shapes = (struct unwind_shapes *)((char *)c + HEADER_SIZE);
	if (table) {
		c->tags = table;
		c->entries = (char *)table + SETS_MAX * sizeof(uint64_t);
		c->set_bits = SET_BITS_MIN;
	}
	c->depth = depth;
	c->victim = 0;
	c->entry_size = entry_size(depth);
	c->stack_lo = c->stack_hi = 0;
	c->evicted = 0;
	c->lookups0 = c->n.hits + c->n.misses + c->n.uncacheable;
	/* Entries are reached only through their tags: clearing the tags empties the
	 * cache without touching (and faulting in) the entries. A new table is zero. A
	 * reused one keeps its size (its pages are touched already). */
	if (!table)
		memset(c->tags, 0, ((size_t)1 << c->set_bits) * sizeof(uint64_t));
}

void stacks_cache_set_stack(struct stack_cache *c, uintptr_t lo, uintptr_t hi)
{
	c->stack_lo = lo;
	c->stack_hi = hi;
}

struct unwind_shapes *stacks_cache_shapes(struct stack_cache *c)
{
	return c ? c->shapes : NULL;
}

int stacks_cache_on = 1;
int stacks_libunwind_fallback = 1;

/* libunwind's memory validation, without its pipe. Where unwind information is
 * missing (code without CFI, a frame it has to guess from the frame-pointer chain, a
 * signal frame found by its code) libunwind sets the cursor's `validate` flag and
 * checks every address before reading it. libunwind 1.6 and 1.7 do that by writing
 * one byte of the address into a pipe that tdep_init opens, whether or not anything
 * is ever validated, on the lowest free fds, and re-open when a read from it fails
 * (1.8 opens it on first use): the program's fds 3 and 4, or 0 and 1 in a program
 * started without stdio, end up holding process memory or being read and closed.
 *
 * Instead the local address space's access_mem is ours: a validated read in the live
 * part of the unwinding thread's own stack (known to the stack cache) is a plain load,
 * any other goes through process_vm_readv on our own pid (no fd; EFAULT for memory
 * that is not readable); every other access is the plain load or store libunwind's
 * own does. It serves the program's own local unwinding too, with the same answers.
 * The validate flag is bit 0 of the accessor's `arg` on x86-64 from 1.6 to 1.8
 * (AS_ARG_VALIDATE_MASK in libunwind's tdep-x86_64/libunwind_i.h); other versions keep
 * libunwind's accessor and get their pipe moved above the fd floor (fds_pipe2). */
#if defined(__x86_64__) && UNW_VERSION >= UNW_VERSION_CODE(1, 6) && \
	UNW_VERSION <= UNW_VERSION_CODE(1, 8)
#define OWN_VALIDATION 1

/* The unwinding thread's own stack, [lo, hi): frame-pointer walks read mostly there,
 * and reads of its live part need no syscall. Set before each unwind (0, 0: unknown). */
static __thread uintptr_t walk_lo __attribute__((tls_model("initial-exec")));
static __thread uintptr_t walk_hi __attribute__((tls_model("initial-exec")));

static inline void walk_bounds(const struct stack_cache *c)
{
	walk_lo = c ? c->stack_lo : 0;
	walk_hi = c ? c->stack_hi : 0;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
		      void *arg)
{
	(void)as;
	if (write) {
		memcpy((void *)addr, val, sizeof(*val));
		return 0;
	}
	/* Between this frame and the top of the stack it runs on is the live stack:
	 * mapped and readable (not so below it, e.g. a main-thread stack not grown yet). */
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	if (!((uintptr_t)arg & 1) || (here >= walk_lo && here < walk_hi && addr >= here &&
				       addr < walk_hi && walk_hi - addr >= sizeof(*val))) {
		memcpy(val, (const void *)addr, sizeof(*val));
		return 0;
	}
	struct iovec local = { val, sizeof(*val) }, remote = { (void *)addr, sizeof(*val) };
	if (syscall(SYS_process_vm_readv, getpid(), &local, 1L, &remote, 1L, 0L) !=
	    (long)sizeof(*val))
		return -1;   /* what libunwind's returns for memory that fails validation */
	return 0;
}
#else
static inline void walk_bounds(const struct stack_cache *c) { (void)c; }
#endif

void stacks_global_init(void)
{
#ifdef OWN_VALIDATION
	/* unw_get_accessors runs libunwind's one-time init (tdep_init), whose pipe2 comes
	 * to fds_pipe2 (the caller holds runtime_guard) and is refused: no fd at all. */
	fds_refuse_pipes = 1;
	unw_accessors_t *acc = unw_get_accessors(unw_local_addr_space);
	__atomic_store_n(&acc->access_mem, access_mem, __ATOMIC_RELEASE);
#endif
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	unwind_init();
}

/* A key hash's set (its top bits) and 16-bit tag (the bits below; never 0). */
static inline size_t set_of(const struct stack_cache *c, uint64_t x)
{
	return (size_t)(x >> (64 - c->set_bits));
}

static inline uint64_t tag_of(const struct stack_cache *c, uint64_t x)
{
	return ((x >> (48 - c->set_bits)) & 0xFFFF) | 1;
}

static inline struct cache_entry *way(struct stack_cache *c, size_t set, unsigned w)
{
	return (struct cache_entry *)(c->entries + (set * CACHE_WAYS + w) * c->entry_size);
}

/* Twice the sets, every entry kept: set s of the old table splits into sets 2s and 2s+1
 * (the next bit of its hash, xhi), each entry keeping its way. Sets are moved from the
 * last down, so every set written to has been moved out already (set 0 keeps its
 * entries where they are, or gives them to set 1). Entries are found only by set and
 * tag, and checked by their own key and slots, so where one sits never changes what it
 * means. No allocation: the table was reserved at its largest. */
static void grow(struct stack_cache *c)
{
	size_t old = (size_t)1 << c->set_bits;
	c->set_bits++;
	for (size_t s = old; s-- > 0;) {
		uint64_t t = c->tags[s];
		c->tags[s] = 0;
		for (unsigned w = 0; w < CACHE_WAYS; w++) {
			uint64_t lane = (t >> (16 * w)) & 0xFFFF;
			if (!lane)
				continue;
			struct cache_entry *e = way(c, s, w);
			/* The hash, as far as the larger table reads it: the set, the
			 * tag (its bit 0 is always 1, not the hash's), then xlo. */
			unsigned b = c->set_bits - 1;
			uint64_t x = ((uint64_t)s << (64 - b)) | ((lane >> 1) << (49 - b)) |
				     ((uint64_t)e->xlo << XLO_SHIFT);
			size_t ns = set_of(c, x);
			if (ns != s)
				memcpy(way(c, ns, w), e, c->entry_size);
			c->tags[ns] |= tag_of(c, x) << (16 * w);
		}
	}
	c->evicted = 0;
	c->lookups0 = c->n.hits + c->n.misses + c->n.uncacheable;
}

static inline uint16_t *entry_offs(struct cache_entry *e)
{
	return (uint16_t *)(e + 1);
}

/* libunwind's walk from here (unw_backtrace: its fast path, with its own per-thread
 * frame cache), keeping the frames from the caller on; the slot of each return
 * address is then found on the stack: the first word above the previous slot that
 * holds it, within the thread's stack. Returns the number of frames in ips; *cacheable
 * tells whether every slot was found. */
static unsigned unwind_libunwind(struct stack_cache *c, unsigned depth, uintptr_t fn,
				 uintptr_t ra, uintptr_t cfa, uintptr_t *ips, uint16_t *offs,
				 int *cacheable)
{
	void *buf[SITES_MAX_DEPTH + SKIP_LIMIT];
	int saved = errno;   /* libunwind's memory checks fail with EAGAIN, EFAULT... */
	int got = unw_backtrace(buf, (int)(depth - 1 + SKIP_LIMIT));
	errno = saved;       /* ...in the program's errno, which is not ours to change */
	int i = 0;
	while (i < got && (uintptr_t)buf[i] != ra)
		i++;
	ips[0] = fn;
	unsigned n = 1;
	if (i >= got || i > SKIP_LIMIT) {
		ips[n++] = ra;   /* the unwinder lost track: keep what is certain */
		*cacheable = 0;
		return n;
	}
	for (; i < got && n < depth && buf[i]; i++)
		ips[n++] = (uintptr_t)buf[i];
	*cacheable = offs && c && cfa >= c->stack_lo && cfa < c->stack_hi;
	if (!*cacheable)
		return n;
	offs[1] = 0;   /* ra sits at cfa - 8, part of the key */
	const uintptr_t base = cfa - 8;
	uintptr_t slot = base;
	for (unsigned k = 2; k < n; k++) {
		uintptr_t p = slot + 8, end = slot + SCAN_LIMIT;
		if (end > c->stack_hi - 8 || end < slot)
			end = c->stack_hi - 8;
		while (p <= end && *(const uintptr_t *)p != ips[k])
			p += 8;
		if (p > end || (p - base) / 8 > UINT16_MAX) {
			*cacheable = 0;
			return n;
		}
		offs[k] = (uint16_t)((p - base) / 8);
		slot = p;
	}
	return n;
}

/* The stack of this capture: ips[0] = fn, ips[1] = ra, then the callers. Our walker
 * first; where it stops early, libunwind off the audio thread. offs (NULL: no cache)
 * gets each return address's slot for the cache; *cacheable tells whether all are
 * known. */
static unsigned unwind(struct stack_cache *c, unsigned depth, uintptr_t fn, uintptr_t ra,
		       uintptr_t cfa, uintptr_t fp, uintptr_t *ips, uint16_t *offs,
		       int *cacheable)
{
	uintptr_t slots[SITES_MAX_DEPTH];
	/* On an audio thread a module not seen yet is searched for without the loader's
	 * lock, and libunwind is never called. */
	int rt = ap_rt.depth > 0;
	struct unwind_start st = {
		.ra = ra, .sp = cfa, .fp = fp,
		.lo = c ? c->stack_lo : 0, .hi = c ? c->stack_hi : 0,
		.may_lock = !rt,
	};
	unsigned got = 0;
	ips[0] = fn;
	enum unwind_status s = unwind_walk(c ? c->shapes : NULL, &st, ips + 1, slots + 1,
					   depth - 1, &got);
	if (s == UNWIND_FAILED && !rt && stacks_libunwind_fallback)
		return unwind_libunwind(c, depth, fn, ra, cfa, ips, offs, cacheable);
	unsigned n = got + 1;
	if (n < 2) {
		ips[1] = ra;
		n = 2;
	}
	*cacheable = s == UNWIND_DONE && offs && c && cfa >= c->stack_lo && cfa < c->stack_hi;
	if (!*cacheable)
		return n;
	const uintptr_t base = cfa - 8;
	uintptr_t prev = base;
	offs[1] = 0;   /* ra sits at cfa - 8, part of the key */
	for (unsigned k = 2; k < n; k++) {
		uintptr_t slot = slots[k];
		if (slot <= prev || (slot - base) / 8 > UINT16_MAX) {
			*cacheable = 0;   /* a signal frame's context, or too far */
			return n;
		}
		offs[k] = (uint16_t)((slot - base) / 8);
		prev = slot;
	}
	return n;
}

/* The entry of set whose key and slots match, counted as a hit; NULL if none. *off
 * gets the slot offset of ips[k] of an entry whose key matched but whose slots did not
 * (0: none such). k is the level this set was chosen at (see deep_hash). */
static inline __attribute__((always_inline))   /* gcc would outline it: a call a probe */
struct site *probe(struct stack_cache *c, size_t set, uint64_t tag, uintptr_t fn,
		   uintptr_t ra, uintptr_t cfa, uint32_t fpd, unsigned k, unsigned *off)
{
	const char *base = (const char *)(cfa - 8);
	/* The ways' first lines, fetched while the tags are read: on a walk down the
	 * levels each set is a cache miss, and waiting for the tags before fetching the
	 * entry would make it two in a row. */
	const size_t es = c->entry_size;
	const char *ways = c->entries + set * CACHE_WAYS * es;
	_Static_assert(CACHE_WAYS == 4, "one prefetch per way");
	__builtin_prefetch(ways);
	__builtin_prefetch(ways + es);
	__builtin_prefetch(ways + 2 * es);
	__builtin_prefetch(ways + 3 * es);
	/* Lanes equal to tag become zero. */
	uint64_t diff = c->tags[set] ^ (tag * 0x0001000100010001ull);
	for (unsigned w = 0; w < CACHE_WAYS; w++, diff >>= 16) {
		if (diff & 0xFFFF)
			continue;
		struct cache_entry *e = way(c, set, w);
		if (e->ra != ra || e->cfa != cfa || e->fpd != fpd || e->fn != fn)
			continue;
		const uintptr_t *ips = e->ips;
		const uint16_t *offs = entry_offs(e);
		unsigned n = e->depth;
		/* Where same-key stacks part first, most likely: ips[k] (this set was
		 * chosen by the ones below it). One load turns most of them away: an
		 * entry put here at this level has a copy of ips[k] beside its key; any
		 * other (met here by chance) reads it from the site. */
		if (e->lvl == k) {
			if (*(const uintptr_t *)(base + (size_t)e->chk_off * 8) != e->chk_ip) {
				*off = e->chk_off;
				continue;
			}
		} else if (n > k && *(const uintptr_t *)(base + (size_t)offs[k] * 8) != ips[k]) {
			*off = offs[k];
			continue;
		}
		/* Most likely a hit now: the allocation path writes the site's first two
		 * lines next (sites_alloc), fetched while the slots are compared. */
		__builtin_prefetch(e->site, 1);
		__builtin_prefetch((const char *)e->site + 64, 1);
		/* Every slot, without a branch per frame: the slots are those found
		 * within this thread's stack for this very cfa, so all are readable.
		 * Four slots a step (one loop branch per four): the first four,
		 * then from where the rest is a whole number of steps (comparing a
		 * few slots twice changes nothing); most stacks are deeper than six
		 * frames. */
		uintptr_t d = 0;
#define SLOT_DIFF(j) (*(const uintptr_t *)(base + (size_t)o[j] * 8) ^ p[j])
		const uint16_t *o = offs + 2, *oe = offs + n;
		const uintptr_t *p = ips + 2;
		if (n >= 6) {
			d = SLOT_DIFF(0) | SLOT_DIFF(1) | SLOT_DIFF(2) | SLOT_DIFF(3);
			unsigned r = ((n - 3) & 3) + 1;   /* 1..4: oe - o - r is 4m */
			for (o += r, p += r; o < oe; o += 4, p += 4)
				d |= SLOT_DIFF(0) | SLOT_DIFF(1) | SLOT_DIFF(2) |
				     SLOT_DIFF(3);
		} else {
			for (; o < oe; o++, p++)
				d |= SLOT_DIFF(0);
		}
#undef SLOT_DIFF
		if (!d) {
			c->n.hits++;
			return e->site;
		}
		if (n > k)
			*off = offs[k];
	}
	return NULL;
}

/* The next key of a stack whose key (ra, cfa, fp, fn) other stacks share, as a
 * wrapper's frame has (gcc's xmalloc under operator new under vec::reserve: one
 * return address and frame at a given depth, hundreds of callers above it; four ways
 * thrashed, and cc1 walked 88,000 times for 18,000 sites): the hash mixed with the
 * next caller's return address, read from the slot a same-key entry found it in, up
 * to DEEP_LEVELS callers up. Any slot would do for exactness (an entry only ever
 * matches by its full key and its own slots); these tell such stacks apart. */
static inline uint64_t deep_hash(uint64_t x, uintptr_t ra2)
{
	return (x ^ ra2) * 0xD6E8FEB86659FD93ull;
}

struct site *stacks_site(struct stack_cache *c, unsigned depth, int full,
			uintptr_t fn, uintptr_t ra, uintptr_t cfa, uintptr_t fp)
{
	if (!full) {
		uintptr_t ips[2] = { fn, ra };
		return sites_intern_site(ips, 2);
	}
	if (depth > SITES_MAX_DEPTH)
		depth = SITES_MAX_DEPTH;
	/* fp is a key part only when it can be this frame's frame pointer: not when it
	 * points nowhere near, nor when the walker knows the frame's base is the stack
	 * pointer there (the register then holds data, such as a pointer into the
	 * frame's own locals, which would make every value a new key). */
	uintptr_t key_fp = fp;   /* the walk gets the register's value whatever the key */
	if (fp - cfa >= 65536 || (c && unwind_frame_on_sp(c->shapes, ra)))
		key_fp = 0;
	if (c && !stacks_cache_on) {   /* AUDIOPROF_STACK_CACHE=0: unwind every time */
		if (depth > c->depth)
			depth = c->depth;
		uintptr_t ips[SITES_MAX_DEPTH];
		int cacheable;
		walk_bounds(c);
		unsigned n = unwind(c, depth, fn, ra, cfa, fp, ips, NULL, &cacheable);
		c->n.uncacheable++;
		return sites_intern_site(ips, n);
	}
	if (c) {
		if (depth > c->depth)
			depth = c->depth;
		uint64_t x = (ra ^ (cfa >> 4) ^ (key_fp << 9) ^ (fn << 3)) * 0x9E3779B97F4A7C15ull;
		uint32_t fpd = key_fp ? (uint32_t)(key_fp - cfa) + 1 : 0;
		size_t set = set_of(c, x);
		uint64_t tag = tag_of(c, x);
		const char *base = (const char *)(cfa - 8);
		unsigned off = 0;   /* a same-key entry's slot of ips[k] (see deep_hash) */
		unsigned lvl = 2;   /* the level set was chosen at */
		struct site *hit = probe(c, set, tag, fn, ra, cfa, fpd, lvl, &off);
		if (hit)
			return hit;
		for (unsigned k = 3; off && k <= DEEP_LEVELS + 2; k++) {
			/* The key is shared by other stacks: look again by a caller's
			 * return address too (and remember this stack there). */
			x = deep_hash(x, *(const uintptr_t *)(base + (size_t)off * 8));
			set = set_of(c, x);
			tag = tag_of(c, x);
			lvl = k;
			off = 0;
			hit = probe(c, set, tag, fn, ra, cfa, fpd, lvl, &off);
			if (hit)
				return hit;
		}
		/* An empty way first: taking turns alone evicts live entries from sets
		 * with room to spare. */
		unsigned vw = c->victim++ % CACHE_WAYS;
		int crowded = 1;
		for (unsigned w = 0; w < CACHE_WAYS; w++)
			if (!((c->tags[set] >> (16 * w)) & 0xFFFF)) {
				vw = w;
				crowded = 0;
				break;
			}
		if (crowded && ++c->evicted >= ((uint64_t)CACHE_WAYS << c->set_bits) / 8 &&
		    c->set_bits < SET_BITS_MAX &&
		    c->evicted * GROW_RATE >= c->n.hits + c->n.misses + c->n.uncacheable -
					       c->lookups0) {
			/* Evicting at a high rate: twice the sets, and this stack goes
			 * where the larger table puts it (most likely an empty way). */
			grow(c);
			set = set_of(c, x);
			tag = tag_of(c, x);
			for (unsigned w = 0; w < CACHE_WAYS; w++)
				if (!((c->tags[set] >> (16 * w)) & 0xFFFF)) {
					vw = w;
					break;
				}
		}
		c->tags[set] &= ~(0xFFFFull << (16 * vw));
		struct cache_entry *e = way(c, set, vw);
		/* Miss: unwind straight into the entry, then intern. */
		int cacheable;
		uintptr_t ips[SITES_MAX_DEPTH];
		walk_bounds(c);
		unsigned n = unwind(c, depth, fn, ra, cfa, fp, ips, entry_offs(e), &cacheable);
		struct site *s = sites_intern_site(ips, n);
		unsigned sd;
		const uintptr_t *site_ips = sites_site_stack(s, &sd);
		if (sd != n)
			cacheable = 0;   /* the site's frames must be the ones validated */
		if (cacheable) {
			e->ra = ra;
			e->cfa = cfa;
			e->fpd = fpd;
			e->fn = fn;
			e->xlo = (uint8_t)((x >> XLO_SHIFT) & 0xF);
			e->depth = (uint8_t)n;
			e->ips = site_ips;
			e->site = s;
			e->lvl = n > lvl ? lvl & 0xF : 0;
			e->chk_off = n > lvl ? entry_offs(e)[lvl] : 0;
			e->chk_ip = n > lvl ? site_ips[lvl] : 0;
			c->tags[set] |= tag << (16 * vw);
			c->n.misses++;
		} else {
			e->site = NULL;
			c->n.uncacheable++;
		}
		return s;
	}
	uintptr_t ips[SITES_MAX_DEPTH];
	int cacheable;
	walk_bounds(NULL);
	unsigned n = unwind(NULL, depth, fn, ra, cfa, fp, ips, NULL, &cacheable);
	return sites_intern_site(ips, n);
}

site_id stacks_capture(struct stack_cache *c, unsigned depth, int full,
		       uintptr_t fn, uintptr_t ra, uintptr_t cfa, uintptr_t fp)
{
	return sites_id(stacks_site(c, depth, full, fn, ra, cfa, fp));
}

void stacks_cache_counters(const struct stack_cache *c, struct stacks_counters *sum)
{
	sum->hits += c->n.hits;
	sum->misses += c->n.misses;
	sum->uncacheable += c->n.uncacheable;
}
