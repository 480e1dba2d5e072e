/* inject.h - the faults `dsp_demo --inject KIND[:N]` puts into the callback, one every
 * N cycles, so that a profiler has something known to find. Each kind lives in its own
 * non-inlined, non-cloned function named inject_<kind>, so stacks name the culprit:
 *
 *   alloc     malloc(256) in the callback; the block is freed later by the control thread
 *   free      free() in the callback of a block the control thread allocated
 *   lock      pthread_mutex_lock/unlock of the mutex the control thread holds while it
 *             edits parameters
 *   sleep     usleep(100)
 *   io        write() of 64 bytes to /dev/null
 *   leak      malloc(64) never freed
 *   overrun   busy-wait 1.5 periods: the cycle misses its deadline
 *   spin      busy-wait US microseconds in every cycle (`--inject spin:US`: the number
 *             after the colon is the wait, not an interval), a known slowdown on demand
 *
 * The count of faults actually put in is exact (inject_count). */
#ifndef DSP_INJECT_H
#define DSP_INJECT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "queue.h"

enum inject_kind {
	INJECT_NONE,
	INJECT_ALLOC,
	INJECT_FREE,
	INJECT_LOCK,
	INJECT_SLEEP,
	INJECT_IO,
	INJECT_LEAK,
	INJECT_OVERRUN,
	INJECT_SPIN,
};

#define INJECT_EVERY_DEFAULT 100
#define INJECT_ALLOC_SIZE 256
#define INJECT_LEAK_SIZE 64
#define INJECT_FREE_SIZE 128
#define INJECT_SPIN_MAX_US 1000000        /* spin: at most one second per cycle */

struct inject {
	enum inject_kind kind;
	unsigned every;                   /* one fault every this many cycles */
	unsigned spin_us;                 /* spin: the busy wait per cycle, in us */
	_Atomic uint64_t count;           /* faults put in */
	_Atomic uint64_t missed;          /* due but not possible (free: no block ready) */
	struct spsc reclaim;              /* alloc: callback -> control thread, to free */
	struct spsc supply;               /* free: control thread -> callback, to free there */
	size_t supply_target;             /* free: blocks the control thread keeps queued */
	pthread_mutex_t *lock;            /* lock: shared with the control thread */
	int devnull;                      /* io: an fd open on /dev/null */
};

const char *inject_name(enum inject_kind kind);
/* Parse "KIND" or "KIND:N", or "spin:US" (then *every is 1 and *spin_us is US; for the
 * other kinds *spin_us is 0). 0 on success, -1 with a message in err. */
int inject_parse(const char *arg, enum inject_kind *kind, unsigned *every,
		 unsigned *spin_us, char *err, size_t errlen);

/* expected: faults the run will ask for (0 if unknown), to size the queues.
 * spin_us: spin's busy wait per cycle. lock: the control thread's parameter mutex.
 * 0 on success, -1 (errno set). */
int inject_init(struct inject *inj, enum inject_kind kind, unsigned every,
		unsigned spin_us, uint64_t expected, pthread_mutex_t *lock);
void inject_fini(struct inject *inj);

/* Callback: put the fault in if cycle (0-based) is due: cycles every-1, 2*every-1, ...
 * period_ns: the cycle's deadline (for overrun). */
void inject_maybe(struct inject *inj, uint64_t cycle, uint64_t period_ns);

/* Control thread: free what inject_alloc handed over, refill the supply for
 * inject_free. Returns the number of blocks freed. */
size_t inject_service(struct inject *inj);

uint64_t inject_count(struct inject *inj);

/* The fault functions themselves (external and noipa so profilers see these names). */
void inject_alloc(struct inject *inj);
int inject_free(struct inject *inj);
void inject_lock(struct inject *inj);
void inject_sleep(struct inject *inj);
void inject_io(struct inject *inj);
void inject_leak(struct inject *inj);
void inject_overrun(struct inject *inj, uint64_t period_ns);
void inject_spin(struct inject *inj);

#endif
