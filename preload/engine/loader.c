/* loader.c - the engine's dl_iterate_phdr calls, and the lock that keeps the profiler's
 * own threads' calls from being in progress across a fork (see loader.h for why).
 *
 * Only the profiler's threads take the lock. A program thread may call into the
 * profiler while it is itself inside dl_iterate_phdr (its callback allocates, and the
 * unwinder meets a module it has not seen: unwind.c walks the list again). Taking our
 * lock there would put it after the loader's, while a profiler thread holding ours
 * waits for the loader's: a deadlock. The program's threads' walks are the same risk
 * as the program's own dl_iterate_phdr calls (and C++ exceptions, dlopen, dlclose),
 * which a fork child of the program runs natively.
 * Lock order: dwlib.c's load_lock (libdw's load walks the list for fds.c), then the
 * walk lock, then the loader's. The profiler's callbacks only read the list and
 * allocate (under the guard, from the allocator underneath); none forks, walks again
 * or takes another lock of the profiler's. The fork's prepare handlers keep that
 * order: this file registers its handlers before any other of the profiler's (a
 * constructor with a priority), and glibc runs prepare handlers in the reverse order
 * of registration, so the walk lock is taken last. */
#include "loader.h"
#include "audio.h"
#include "forkmem.h"
#include "runtime.h"

#include <pthread.h>
#include <time.h>

#define walk_lock (forkmem_atfork.loader_walk)   /* on the fork handlers' page (forkmem.h) */
static __thread int own_thread __attribute__((tls_model("initial-exec")));
static int held_for_fork;   /* the prepare handler got walk_lock (the forking thread's) */

/* How long a fork waits for a profiler thread's walk at most. A walk takes
 * microseconds; it can only last longer while the loader's lock is held elsewhere, and
 * if the forking thread holds it (a fork from inside the program's own dl_iterate_phdr
 * callback), waiting longer would never end. The fork then goes on without the lock,
 * as natively: that child inherits the loader's lock held in either case. */
#define FORK_WAIT_S 5

void loader_own_thread(void)
{
	own_thread = 1;
}

int loader_iterate(loader_cb cb, void *arg)
{
	if (!own_thread)
		return dl_iterate_phdr(cb, arg);
	pthread_mutex_lock(&walk_lock);
	int r = dl_iterate_phdr(cb, arg);
	pthread_mutex_unlock(&walk_lock);
	return r;
}

/* The fork handlers' lock calls are the profiler's own, not the program's (rtcheck.c):
 * audio_fork_guard. */
static void fork_prepare(void)
{
	int g = audio_fork_guard();
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += FORK_WAIT_S;
	int held = pthread_mutex_clocklock(&walk_lock, CLOCK_MONOTONIC, &until) == 0;
	if (held_for_fork != held)   /* unchanged, its page is not written (forkmem.h) */
		held_for_fork = held;
	audio_fork_unguard(g);
}

static void fork_parent(void)
{
	int g = audio_fork_guard();
	/* held_for_fork stays: the prepare handler sets it for every fork, and a write
	 * here would copy its page (shared with the child) inside fork(). */
	if (held_for_fork)
		pthread_mutex_unlock(&walk_lock);
	audio_fork_unguard(g);
}

static void fork_child(void)
{
	/* The child has one thread, the forking one: no walk of a profiler thread here. */
	pthread_mutex_init(&walk_lock, NULL);
	held_for_fork = 0;
}

/* Before every other constructor of the profiler's (default priority): registered
 * first, its prepare handler runs last. */
__attribute__((constructor(101))) static void loader_ctor(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
