/* blocks.h - per-block bookkeeping stored in a header in front of every tracked block.
 * The header gives O(1), lock-free lookup on free with no global table: the profiler's
 * memory for blocks is bounded by the live blocks themselves. A tag derived from the
 * user pointer, in the 8 bytes right before it, tells our blocks from foreign ones
 * (blocks from before interposition, or from the profiler's own guarded allocations). */
#ifndef AUDIOPROF_BLOCKS_H
#define AUDIOPROF_BLOCKS_H

#include <stdint.h>
#include <stddef.h>
#include "sites.h"

struct block_hdr {
	uint64_t birth;       /* CLOCK_MONOTONIC ns at allocation */
	uint64_t size;        /* size the program asked for */
	uint32_t site;        /* site_id */
	uint32_t offset;      /* user pointer - underlying allocation start */
	uint64_t tag;         /* BLOCK_MAGIC ^ user pointer; always the last 8 bytes */
};

#define BLOCK_HDR_SIZE   ((size_t)sizeof(struct block_hdr))   /* 32: keeps 16-byte alignment */
/* Top bit set: a glibc chunk size word (what sits before a foreign pointer) never matches. */
#define BLOCK_MAGIC      0xA7D10F0F5EED1234ull

/* Write a header for a block whose underlying allocation starts at `base` and whose
 * user pointer is base + offset (offset >= BLOCK_HDR_SIZE). Returns the user pointer. */
static inline void *blocks_init(void *base, size_t offset, uint64_t size, site_id s, uint64_t birth)
{
	char *user = (char *)base + offset;
	struct block_hdr *h = (struct block_hdr *)(user - BLOCK_HDR_SIZE);
	h->birth = birth;
	h->size = size;
	h->site = s;
	h->offset = (uint32_t)offset;
	h->tag = BLOCK_MAGIC ^ (uint64_t)(uintptr_t)user;
	return user;
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
	return (char *)h + BLOCK_HDR_SIZE - h->offset;
}

#endif
