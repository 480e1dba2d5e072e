/* blocks.h - per-block bookkeeping stored in a header in front of every tracked block.
 * The header gives O(1), lock-free lookup on free with no global table: the profiler's
 * memory for blocks is bounded by the live blocks themselves. A tag derived from the
 * user pointer, in the 8 bytes right before it, tells our blocks from foreign ones
 * (blocks from before interposition, or from the profiler's own guarded allocations).
 * The header holds the site by pointer (sites never move), so a free reaches the
 * site's counters without the id table. */
#ifndef AUDIOPROF_BLOCKS_H
#define AUDIOPROF_BLOCKS_H

#include <stdint.h>
#include <stddef.h>
#include "sites.h"

struct block_hdr {
	uint64_t birth;       /* ticks (clock.h) at allocation */
	uint64_t size_log;    /* size the program asked for << 8 | log2(offset) */
	struct site *site;
	uint64_t tag;         /* BLOCK_MAGIC ^ user pointer; always the last 8 bytes */
};

#define BLOCK_HDR_SIZE   ((size_t)sizeof(struct block_hdr))   /* 32: keeps 16-byte alignment */
/* Top bit set: a glibc chunk size word (what sits before a foreign pointer) never matches. */
#define BLOCK_MAGIC      0xA7D10F0F5EED1234ull

/* Write a header for a block whose underlying allocation starts at `base` and whose
 * user pointer is base + offset (offset: a power of two >= BLOCK_HDR_SIZE). Returns
 * the user pointer. size < 2^56: the allocation of size + offset bytes succeeded. */
static inline void *blocks_init(void *base, size_t offset, uint64_t size, struct site *s,
				uint64_t birth)
{
	char *user = (char *)base + offset;
	struct block_hdr *h = (struct block_hdr *)(user - BLOCK_HDR_SIZE);
	h->birth = birth;
	h->size_log = size << 8 | (uint64_t)__builtin_ctzll(offset);
	h->site = s;
	h->tag = BLOCK_MAGIC ^ (uint64_t)(uintptr_t)user;
	return user;
}

static inline uint64_t blocks_size(const struct block_hdr *h)
{
	return h->size_log >> 8;
}

/* user pointer - underlying allocation start */
static inline size_t blocks_offset(const struct block_hdr *h)
{
	return (size_t)1 << (h->size_log & 0xFF);
}

/* The header of a tracked block, or NULL for a foreign pointer. Reads only the 8 bytes
 * before `p` unless they match, so it is safe on any pointer glibc handed out (they are
 * the allocator's chunk header: a sanitizer's redzone in sanitized unit tests). */
__attribute__((no_sanitize("address")))
static inline struct block_hdr *blocks_lookup(const void *p)
{
	const uint64_t *tag = (const uint64_t *)((uintptr_t)p - sizeof(uint64_t));
	if (*tag != (BLOCK_MAGIC ^ (uint64_t)(uintptr_t)p))
		return NULL;
	return (struct block_hdr *)((const char *)p - BLOCK_HDR_SIZE);
}

/* Forget the header (so a stale pointer freed twice is not taken for ours). */
static inline void *blocks_release(struct block_hdr *h)
{
	h->tag = 0;
	return (char *)h + BLOCK_HDR_SIZE - blocks_offset(h);
}

#endif
