/* pool.c - the lock-free buffer pool of pool.h: a Treiber stack of buffer indices.
 * The head packs a 32-bit ABA tag with the top index, so a compare-and-swap on one
 * 64-bit word is enough: a thread that read a stale link fails its CAS because the tag
 * moved on. All memory is allocated, touched and (best effort) mlock()ed in pool_init. */
#include "pool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define IDX_MASK 0xffffffffu

static uint64_t pack(uint64_t tag, uint32_t idx1)
{
	return (tag << 32) | idx1;
}

int pool_init(struct pool *p, unsigned count, unsigned capacity)
{
	size_t floats = (size_t)count * 2 * capacity;
	void *mem = NULL;

	memset(p, 0, sizeof *p);
	if (count == 0 || capacity == 0)
		return -1;
	if (posix_memalign(&mem, 64, floats * sizeof(float)) != 0)
		return -1;
	p->mem = mem;
	p->bufs = calloc(count, sizeof *p->bufs);
	p->next = calloc(count, sizeof *p->next);
	if (p->bufs == NULL || p->next == NULL) {
		pool_free(p);
		return -1;
	}
	memset(p->mem, 0, floats * sizeof(float));      /* fault every page in now */
	(void)mlock(p->mem, floats * sizeof(float));     /* best effort: RLIMIT_MEMLOCK */
	p->count = count;
	p->capacity = capacity;
	for (unsigned i = 0; i < count; i++) {
		p->bufs[i].ch[0] = p->mem + (size_t)i * 2 * capacity;
		p->bufs[i].ch[1] = p->bufs[i].ch[0] + capacity;
		p->bufs[i].frames = 0;
		p->bufs[i].index = i;
		/* free list 0 -> 1 -> ... -> count-1 */
		atomic_init(&p->next[i], i + 1 < count ? i + 2 : 0);
	}
	atomic_init(&p->head, pack(0, 1));
	atomic_init(&p->available, count);
	atomic_init(&p->low_water, count);
	return 0;
}

void pool_free(struct pool *p)
{
	if (p->mem != NULL)
		munlock(p->mem, (size_t)p->count * 2 * p->capacity * sizeof(float));
	free(p->mem);
	free(p->bufs);
	free((void *)p->next);
	memset(p, 0, sizeof *p);
}

struct pool_buf *pool_acquire(struct pool *p)
{
	uint64_t old = atomic_load_explicit(&p->head, memory_order_acquire);
	uint64_t new;
	uint32_t idx1;
	unsigned avail, low;

	do {
		idx1 = (uint32_t)(old & IDX_MASK);
		if (idx1 == 0)
			return NULL;
		/* May be stale if another thread pops and pushes meanwhile: the tag makes
		 * the CAS below fail then. */
		new = pack((old >> 32) + 1,
			   atomic_load_explicit(&p->next[idx1 - 1], memory_order_relaxed));
	} while (!atomic_compare_exchange_weak_explicit(&p->head, &old, new,
							 memory_order_acq_rel,
							 memory_order_acquire));
	avail = atomic_fetch_sub_explicit(&p->available, 1, memory_order_relaxed) - 1;
	low = atomic_load_explicit(&p->low_water, memory_order_relaxed);
	while (avail < low && !atomic_compare_exchange_weak_explicit(&p->low_water, &low, avail,
								      memory_order_relaxed,
								      memory_order_relaxed))
		;
	return &p->bufs[idx1 - 1];
}

void pool_release(struct pool *p, struct pool_buf *b)
{
	uint64_t old = atomic_load_explicit(&p->head, memory_order_relaxed);
	uint64_t new;

	do {
		atomic_store_explicit(&p->next[b->index], (uint32_t)(old & IDX_MASK),
				      memory_order_relaxed);
		new = pack((old >> 32) + 1, b->index + 1);
	} while (!atomic_compare_exchange_weak_explicit(&p->head, &old, new,
							 memory_order_release,
							 memory_order_relaxed));
	atomic_fetch_add_explicit(&p->available, 1, memory_order_relaxed);
}

unsigned pool_available(struct pool *p)
{
	return atomic_load_explicit(&p->available, memory_order_relaxed);
}
