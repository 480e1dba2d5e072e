/* pool.h - a preallocated, lock-free pool of stereo audio buffers. The callback
 * acquires one buffer per cycle and hands it to the WAV writer thread (or releases it
 * itself); any thread may release. Nothing is allocated after pool_init. */
#ifndef DSP_POOL_H
#define DSP_POOL_H

#include <stdatomic.h>
#include <stdint.h>

struct pool_buf {
	float *ch[2];                     /* planar left/right, `frames` floats each */
	unsigned frames;                  /* valid frames (set by whoever fills it) */
	unsigned index;                   /* position in the pool (for release) */
};

struct pool {
	struct pool_buf *bufs;            /* count descriptors */
	float *mem;                       /* one block: count * 2 * capacity floats */
	_Atomic uint32_t *next;           /* free-list links: index + 1 of the next free, 0 = end */
	unsigned count;                   /* buffers in the pool */
	unsigned capacity;                /* frames per buffer */
	char pad0[64];
	_Atomic uint64_t head;            /* free-list top: ABA tag << 32 | (index + 1) */
	char pad1[64 - sizeof(uint64_t)];
	_Atomic unsigned available;       /* free buffers now */
	_Atomic unsigned low_water;       /* fewest free buffers ever seen */
};

/* count buffers of capacity frames per channel, zeroed and (when allowed) locked in
 * memory. 0 on success, -1 when out of memory. */
int pool_init(struct pool *p, unsigned count, unsigned capacity);
void pool_free(struct pool *p);

/* A free buffer, or NULL if none is left. Lock-free; callback-safe. */
struct pool_buf *pool_acquire(struct pool *p);
/* Give a buffer back (any thread). Lock-free; callback-safe. */
void pool_release(struct pool *p, struct pool_buf *b);
unsigned pool_available(struct pool *p);

#endif
