/* stacks.c - allocation stacks: libunwind on a miss, a validated per-thread cache on
 * a hit.
 *
 * Why the cache is exact: on x86-64 a call pushes its return address at the caller's
 * stack pointer minus 8. The cache key is the immediate caller's return address `ra`,
 * its stack pointer `cfa` and its frame pointer `fp`. For the usual frame whose
 * canonical frame address is "stack pointer + constant" (what gcc and clang emit
 * without frame pointers and without alloca), the address of each caller's return
 * address slot is a function of the key and the return addresses below it; so if every
 * remembered slot still holds the remembered return address, the walk libunwind would
 * do now yields the same frames. A frame whose size varies (alloca, VLAs, realignment)
 * always has a frame pointer (gcc and clang force one), so for the innermost frame the
 * key also holds `fp` whenever it points into that frame; ordinary frames, where the
 * register holds data, get no key part from it. The one case left unproven: an outer
 * frame of varying size under a different chain of callers that exactly compensates
 * its size, with the old return addresses still lying in its uninitialised alloca
 * memory. Signal frames and stacks whose slots are not above `cfa` are never cached.
 * AUDIOPROF_STACK_CACHE=0 turns the cache off. */
#include "stacks.h"

#include <libunwind.h>
#include <string.h>

#define CACHE_SETS    128u   /* power of two */
#define CACHE_WAYS    4u     /* one caller seen from several chains at one depth */
#define CACHE_ENTRIES (CACHE_SETS * CACHE_WAYS)
#define SKIP_LIMIT    16     /* our own frames above the caller */

struct cache_entry {
	uintptr_t ra, cfa, fp;
	site_id site;            /* 0: empty */
	uint32_t depth;          /* frames in ips (>= 2); ips[0] = fn, ips[1] = ra */
	uintptr_t fn;
	/* followed by uintptr_t ips[depth] and uint32_t off[depth] (slot - cfa) */
};

struct stack_cache {
	unsigned depth;          /* configured frames per stack */
	unsigned victim;         /* round-robin replacement within a set */
	size_t entry_size;
	struct stacks_counters n; /* this thread's; read racily by the writer */
	char entries[] __attribute__((aligned(16)));
};

static inline size_t entry_size(unsigned depth)
{
	size_t s = sizeof(struct cache_entry) + depth * (sizeof(uintptr_t) + sizeof(uint32_t));
	return (s + 15) & ~(size_t)15;
}

size_t stacks_cache_size(unsigned depth)
{
	return sizeof(struct stack_cache) + CACHE_ENTRIES * entry_size(depth);
}

void stacks_cache_init(struct stack_cache *c, unsigned depth)
{
	c->depth = depth;
	c->entry_size = entry_size(depth);
}

void stacks_global_init(void)
{
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

static inline struct cache_entry *way(struct stack_cache *c, size_t set, unsigned w)
{
	return (struct cache_entry *)(c->entries + (set * CACHE_WAYS + w) * c->entry_size);
}

static inline uintptr_t *entry_ips(struct cache_entry *e)
{
	return (uintptr_t *)(e + 1);
}

static inline uint32_t *entry_offs(struct cache_entry *e, unsigned cap)
{
	return (uint32_t *)(entry_ips(e) + cap);
}

/* Unwind from here; keep the frames from the caller (ip == ra at sp == cfa) on.
 * Returns the number of frames in ips; *cacheable tells whether offs is complete. */
static unsigned unwind(unsigned depth, uintptr_t fn, uintptr_t ra, uintptr_t cfa,
		       uintptr_t *ips, uint32_t *offs, int *cacheable)
{
	unw_context_t uc;
	unw_cursor_t cur;
	unsigned n = 0;
	int found = 0, skipped = 0;

	ips[n] = fn;
	offs[n++] = 0;
	*cacheable = offs != NULL;
	if (unw_getcontext(&uc) != 0 || unw_init_local(&cur, &uc) != 0)
		goto fallback;
	while (n < depth && unw_step(&cur) > 0) {
		unw_word_t ip, sp;
		if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0 || unw_get_reg(&cur, UNW_REG_SP, &sp) != 0)
			break;
		if (!found) {
			if (ip == ra && sp == cfa)
				found = 1;
			else if (++skipped > SKIP_LIMIT)
				goto fallback;
			else
				continue;
		}
		if (ip == 0)
			break;
		ips[n] = ip;
		/* The return address into this frame sits just below its stack pointer. */
		if (sp - 8 < cfa - 8 || sp - 8 - cfa + 8 > UINT32_MAX)
			*cacheable = 0;
		offs[n++] = (uint32_t)(sp - 8 - (cfa - 8));
		if (unw_is_signal_frame(&cur) > 0)
			*cacheable = 0;
	}
	if (found)
		return n;
fallback:
	*cacheable = 0;
	ips[1] = ra;
	return 2;
}

site_id stacks_capture(struct stack_cache *c, unsigned depth, int full,
		       uintptr_t fn, uintptr_t ra, uintptr_t cfa, uintptr_t fp)
{
	if (!full) {
		uintptr_t ips[2] = { fn, ra };
		return sites_intern(ips, 2);
	}
	if (depth > SITES_MAX_DEPTH)
		depth = SITES_MAX_DEPTH;
	/* fp is a key part only when it can be this frame's frame pointer. */
	if (fp - cfa >= 65536)
		fp = 0;
	if (c) {
		if (depth > c->depth)
			depth = c->depth;
		size_t set = (((ra ^ (cfa >> 4)) * 0x9E3779B97F4A7C15ull) >> 40) & (CACHE_SETS - 1);
		const char *base = (const char *)(cfa - 8);
		for (unsigned w = 0; w < CACHE_WAYS; w++) {
			struct cache_entry *e = way(c, set, w);
			if (!e->site || e->ra != ra || e->cfa != cfa || e->fp != fp || e->fn != fn)
				continue;
			const uintptr_t *ips = entry_ips(e);
			const uint32_t *offs = entry_offs(e, c->depth);
			unsigned i;
			for (i = 2; i < e->depth; i++)
				if (*(const uintptr_t *)(base + offs[i]) != ips[i])
					break;
			if (i == e->depth) {
				c->n.hits++;
				return e->site;
			}
		}
		struct cache_entry *e = way(c, set, c->victim++ % CACHE_WAYS);
		/* Miss: unwind straight into the entry, then intern. */
		int cacheable;
		unsigned n = unwind(depth, fn, ra, cfa, entry_ips(e), entry_offs(e, c->depth),
				    &cacheable);
		site_id s = sites_intern(entry_ips(e), n);
		if (cacheable) {
			e->ra = ra;
			e->cfa = cfa;
			e->fp = fp;
			e->fn = fn;
			e->depth = n;
			e->site = s;
			c->n.misses++;
		} else {
			e->site = 0;
			c->n.uncacheable++;
		}
		return s;
	}
	uintptr_t ips[SITES_MAX_DEPTH];
	uint32_t offs[SITES_MAX_DEPTH];
	int cacheable;
	unsigned n = unwind(depth, fn, ra, cfa, ips, offs, &cacheable);
	return sites_intern(ips, n);
}

void stacks_cache_counters(const struct stack_cache *c, struct stacks_counters *sum)
{
	sum->hits += c->n.hits;
	sum->misses += c->n.misses;
	sum->uncacheable += c->n.uncacheable;
}
