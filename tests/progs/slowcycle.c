/* slowcycle.c - a marked region "cycle" run as 200 cycles of a 480-frame period at
 * 48 kHz (a 10 ms deadline) where almost nothing happens, except known slow calls:
 *   every cycle          pthread_mutex_lock of a mutex no one else ever holds, in
 *                        lock_free_mutex() (counted, never waits)
 *   cycle SLEEP_CYCLE    usleep(SLEEP_US) in sleep_in_cycle()
 *   cycle WAIT_CYCLE     pthread_mutex_lock, in wait_in_cycle(), of a mutex that a
 *                        helper thread holds: the helper sees the lock contended (the
 *                        cycle is inside the real call), then sleeps HOLD_US before it
 *                        unlocks, so the call lasts at least HOLD_US
 * For tests/integration/t_slowcycle.sh. stdout: "done". */
#include "audioprof.h"
#include "progs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define CYCLES 200
#define SLEEP_CYCLE 50
#define SLEEP_US 30000     /* 30 ms: three deadlines */
#define WAIT_CYCLE 120
#define HOLD_US 40000      /* 40 ms */

static pthread_mutex_t free_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t held_mutex = PTHREAD_MUTEX_INITIALIZER;
static atomic_int held;    /* 1: the helper holds held_mutex */
static const char region[] = "cycle";

NOINLINE static void lock_free_mutex(void)
{
	pthread_mutex_lock(&free_mutex);
	pthread_mutex_unlock(&free_mutex);
}

NOINLINE static void sleep_in_cycle(void)
{
	usleep(SLEEP_US);
}

NOINLINE static void wait_in_cycle(void)
{
	pthread_mutex_lock(&held_mutex);
	pthread_mutex_unlock(&held_mutex);
}

/* Holds held_mutex until the main thread waits for it (glibc marks a mutex with
 * waiters by a lock word of 2), then HOLD_US more. */
static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&held_mutex);
	atomic_store(&held, 1);
	while (__atomic_load_n(&held_mutex.__data.__lock, __ATOMIC_ACQUIRE) != 2)
		sched_yield();
	struct timespec ts = { 0, HOLD_US * 1000L };
	while (nanosleep(&ts, &ts) != 0)
		;
	pthread_mutex_unlock(&held_mutex);
	return NULL;
}

int main(void)
{
	pthread_t t = 0;
	AUDIOPROF_RT_PERIOD(region, 480, 48000);
	for (int c = 1; c <= CYCLES; c++) {
		if (c == WAIT_CYCLE) {
			PROG_CHECK(pthread_create(&t, NULL, holder, NULL) == 0, "pthread_create");
			while (!atomic_load(&held))
				sched_yield();
		}
		AUDIOPROF_RT_ENTER(region);
		lock_free_mutex();
		if (c == SLEEP_CYCLE)
			sleep_in_cycle();
		if (c == WAIT_CYCLE)
			wait_in_cycle();
		AUDIOPROF_RT_EXIT();
		struct timespec gap = { 0, 1000000 };   /* 1 ms between cycles */
		nanosleep(&gap, NULL);
	}
	if (t)
		pthread_join(t, NULL);
	prog_say("done\n");
	return 0;
}
