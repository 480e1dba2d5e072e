/* inject.c - the deliberate callback faults of inject.h, and the control-thread side
 * that keeps them bounded (frees what inject_alloc made, feeds inject_free).
 * Every inject_<kind> is __attribute__((noipa)): never inlined, cloned or renamed, so
 * the frame above the libc call in a profiler's stack is exactly inject_<kind>. */
#include "inject.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"

#define NOIPA __attribute__((noipa))

static const char *const names[] = {
	[INJECT_NONE] = "none",
	[INJECT_ALLOC] = "alloc",
	[INJECT_FREE] = "free",
	[INJECT_LOCK] = "lock",
	[INJECT_SLEEP] = "sleep",
	[INJECT_IO] = "io",
	[INJECT_LEAK] = "leak",
	[INJECT_OVERRUN] = "overrun",
	[INJECT_SPIN] = "spin",
};

/* The last leaked block, so the compiler cannot drop the malloc; overwritten each time. */
void *volatile inject_leak_sink;

const char *inject_name(enum inject_kind kind)
{
	return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

int inject_parse(const char *arg, enum inject_kind *kind, unsigned *every,
		 unsigned *spin_us, char *err, size_t errlen)
{
	const char *colon = strchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
	unsigned long max;

	*kind = INJECT_NONE;
	for (unsigned k = INJECT_ALLOC; k <= INJECT_SPIN; k++)
		if (strlen(names[k]) == len && strncmp(arg, names[k], len) == 0)
			*kind = (enum inject_kind)k;
	if (*kind == INJECT_NONE) {
		snprintf(err, errlen, "--inject: unknown fault '%.*s' "
			 "(alloc, free, lock, sleep, io, leak, overrun or spin)", (int)len, arg);
		return -1;
	}
	*every = INJECT_EVERY_DEFAULT;
	*spin_us = 0;
	if (*kind == INJECT_SPIN && colon == NULL) {
		snprintf(err, errlen, "--inject spin needs the wait per cycle: spin:MICROSECONDS");
		return -1;
	}
	if (colon) {
		char *end;
		unsigned long n;

		max = *kind == INJECT_SPIN ? INJECT_SPIN_MAX_US : 1000000000ul;
		errno = 0;
		n = strtoul(colon + 1, &end, 10);
		if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
		    n < 1 || n > max) {
			snprintf(err, errlen, "--inject: '%s' after ':' is not %s from 1 to %lu",
				 colon + 1, *kind == INJECT_SPIN ? "a number of microseconds"
				 : "a cycle count", max);
			return -1;
		}
		if (*kind == INJECT_SPIN) {
			*every = 1;
			*spin_us = (unsigned)n;
		} else {
			*every = (unsigned)n;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- set-up (main thread) */

int inject_init(struct inject *inj, enum inject_kind kind, unsigned every,
		unsigned spin_us, uint64_t expected, pthread_mutex_t *lock)
{
	size_t cap = 64;

	memset(inj, 0, sizeof *inj);
	inj->kind = kind;
	inj->every = every ? every : INJECT_EVERY_DEFAULT;
	inj->spin_us = spin_us;
	inj->lock = lock;
	inj->devnull = -1;
	atomic_init(&inj->count, 0);
	atomic_init(&inj->missed, 0);
	/* alloc: the control thread frees every 10 ms; 1024 slots leave it 10 ms for 1024
	 * faults, and freewheel waits for it (engine_wait_ready) past half full.
	 * free: room for the whole run when it is known (up to 64 Ki blocks), so the
	 * callback never finds the supply empty, however fast it runs. */
	if (kind == INJECT_ALLOC && spsc_init(&inj->reclaim, 1024) != 0)
		return -1;
	if (kind == INJECT_FREE) {
		if (expected + 1 > cap)
			cap = expected < 65535 ? (size_t)expected + 1 : 65536;
		if (spsc_init(&inj->supply, cap) != 0)
			return -1;
		inj->supply_target = cap;
		inject_service(inj);
	}
	if (kind == INJECT_IO) {
		inj->devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (inj->devnull < 0)
			return -1;
	}
	return 0;
}

void inject_fini(struct inject *inj)
{
	void *p;

	if (inj->kind == INJECT_ALLOC) {
		inject_service(inj);
		spsc_free(&inj->reclaim);
	}
	if (inj->kind == INJECT_FREE) {
		while ((p = spsc_pop(&inj->supply)) != NULL)
			free(p);
		spsc_free(&inj->supply);
	}
	if (inj->kind == INJECT_IO && inj->devnull >= 0)
		close(inj->devnull);
	inj->devnull = -1;
}

/* ---------------------------------------------------------------- control thread */

/* The blocks inject_free will free in the callback are born here. */
static NOIPA void *inject_supply_block(void)
{
	void *p = malloc(INJECT_FREE_SIZE);

	if (p != NULL)
		memset(p, 0x5a, INJECT_FREE_SIZE);
	return p;
}

size_t inject_service(struct inject *inj)
{
	size_t n = 0;
	void *p;

	if (inj->kind == INJECT_ALLOC) {
		while ((p = spsc_pop(&inj->reclaim)) != NULL) {
			free(p);
			n++;
		}
	}
	if (inj->kind == INJECT_FREE) {
		/* Keep the supply full. Only this thread pushes, so the count only grows
		 * between the check and the push. */
		while (spsc_count(&inj->supply) < inj->supply_target) {
			p = inject_supply_block();
			if (p == NULL || spsc_push(&inj->supply, p) != 0) {
				free(p);
				break;
			}
		}
	}
	return n;
}

uint64_t inject_count(struct inject *inj)
{
	return atomic_load_explicit(&inj->count, memory_order_relaxed);
}

/* ---------------------------------------------------------------- callback: the faults */

NOIPA void inject_alloc(struct inject *inj)
{
	char *p = malloc(INJECT_ALLOC_SIZE);

	if (p == NULL)
		return;
	p[0] = 1;
	if (spsc_push(&inj->reclaim, p) != 0)
		inject_leak_sink = p;             /* the control thread is far behind: keep it */
}

NOIPA int inject_free(struct inject *inj)
{
	void *p = spsc_pop(&inj->supply);

	if (p == NULL)
		return 0;
	free(p);
	return 1;
}

NOIPA void inject_lock(struct inject *inj)
{
	pthread_mutex_lock(inj->lock);
	__asm__ __volatile__("" ::: "memory");
	pthread_mutex_unlock(inj->lock);
}

NOIPA void inject_sleep(struct inject *inj)
{
	(void)inj;
	usleep(100);
}

NOIPA void inject_io(struct inject *inj)
{
	static const char msg[64] = "dsp_demo: an audio callback should never write this\n";
	ssize_t r = write(inj->devnull, msg, sizeof msg);

	(void)r;
}

NOIPA void inject_leak(struct inject *inj)
{
	char *p = malloc(INJECT_LEAK_SIZE);

	(void)inj;
	if (p != NULL)                            /* not 0: GCC would make malloc+memset calloc */
		memset(p, 0xa5, INJECT_LEAK_SIZE);
	inject_leak_sink = p;
}

NOIPA void inject_overrun(struct inject *inj, uint64_t period_ns)
{
	uint64_t until = clock_now_ns() + period_ns + period_ns / 2;

	(void)inj;
	while (clock_now_ns() < until)
		__asm__ __volatile__("" ::: "memory");
}

NOIPA void inject_spin(struct inject *inj)
{
	uint64_t until = clock_now_ns() + (uint64_t)inj->spin_us * 1000u;

	while (clock_now_ns() < until)
		__asm__ __volatile__("" ::: "memory");
}

static NOIPA void inject_fire(struct inject *inj, uint64_t period_ns)
{
	switch (inj->kind) {
	case INJECT_ALLOC:
		inject_alloc(inj);
		break;
	case INJECT_FREE:
		if (!inject_free(inj)) {
			atomic_fetch_add_explicit(&inj->missed, 1, memory_order_relaxed);
			return;
		}
		break;
	case INJECT_LOCK:
		inject_lock(inj);
		break;
	case INJECT_SLEEP:
		inject_sleep(inj);
		break;
	case INJECT_IO:
		inject_io(inj);
		break;
	case INJECT_LEAK:
		inject_leak(inj);
		break;
	case INJECT_OVERRUN:
		inject_overrun(inj, period_ns);
		break;
	case INJECT_SPIN:
		inject_spin(inj);
		break;
	case INJECT_NONE:
	default:
		return;
	}
	atomic_fetch_add_explicit(&inj->count, 1, memory_order_relaxed);
}

void inject_maybe(struct inject *inj, uint64_t cycle, uint64_t period_ns)
{
	if (inj->kind != INJECT_NONE && (cycle + 1) % inj->every == 0)
		inject_fire(inj, period_ns);
}
