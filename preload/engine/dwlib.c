/* dwlib.c - libdw and libelf opened on first need (see dwlib.h): dlopen by soname,
 * RTLD_LOCAL (the program's own lookups never find them), every function looked up
 * into one table, their code ranges handed to fds.c (the files libdw opens are the
 * profiler's).
 *
 * A fork() while another thread is inside dlopen gives a child whose loader lists
 * hold a half-loaded library (glibc only resets the loader's lock in the child): the
 * child's own dlopen of libdw then found it and crashed. So one load at a time, under
 * load_lock, which fork's prepare handler takes too. Both waits are bounded: the
 * thread that loads waits for the loader's lock, which a thread waiting for
 * load_lock may hold (dlclose from a destructor, whose wrapper symbolizes; fork from
 * a constructor); after the bound the waiter goes on without libdw (a fork child then
 * never loads it, and says so once). */
#include "dwlib.h"
#include "audio.h"
#include "fds.h"
#include "forkmem.h"
#include "log.h"
#include "runtime.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define LIBDW_SONAME  "libdw.so.1"
#define LIBELF_SONAME "libelf.so.1"

struct dwlib dwlib;

#define LOAD_WAIT_MS 2000   /* the most a symbolizing thread waits for another's load */
#define FORK_WAIT_MS 200    /* the most fork() waits for a load under way */

/* 0 not loaded, 2 loaded, -1 failed for good (written under load_lock). */
static int state;
#define load_lock (forkmem_atfork.dwlib_load)   /* on the fork handlers' page (forkmem.h) */
static int fork_has_lock;   /* the prepare handler got load_lock */
/* This thread writes the process's last profile (exit, _exit, exec): it may load even
 * where it is real-time. */
static __thread int last_write __attribute__((tls_model("initial-exec")));

int dwlib_loaded(void)
{
	return __atomic_load_n(&state, __ATOMIC_ACQUIRE) == 2;
}

int dwlib_failed(void)
{
	return __atomic_load_n(&state, __ATOMIC_ACQUIRE) < 0;
}

/* Opens both libraries and fills *t. Returns NULL, or the name of what failed with
 * the loader's message in *why. */
static const char *open_libs(struct dwlib *t, const char **why)
{
	void *h[2] = { NULL, NULL };
	const char *names[2] = { LIBDW_SONAME, LIBELF_SONAME };
	for (int i = 0; i < 2; i++) {
		h[i] = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (!h[i]) {
			*why = dlerror();
			return names[i];
		}
	}
	enum { DW, ELF };
#define DWLIB_LOOKUP(lib, name)                                                   \
	t->name = (__typeof__(t->name))dlsym(h[lib], #name);                      \
	if (!t->name) {                                                           \
		*why = "a function is missing";                                   \
		return #name;                                                     \
	}
	DWLIB_FUNCTIONS(DWLIB_LOOKUP)
#undef DWLIB_LOOKUP
	fds_note_library(0, (const void *)t->dwfl_begin);
	fds_note_library(1, (const void *)t->elf_begin);
	return NULL;
}

/* load_lock, waiting at most `ms`; returns whether it is held. */
static int lock_within(unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return pthread_mutex_timedlock(&load_lock, &ts) == 0;
}

/* The fork handlers' lock calls are the profiler's own, not the program's (rtcheck.c):
 * audio_fork_guard; the child's work holds runtime_guard. */
static void fork_prepare(void)
{
	int g = audio_fork_guard();
	int has = lock_within(FORK_WAIT_MS);
	if (fork_has_lock != has)   /* unchanged, its page is not written (forkmem.h) */
		fork_has_lock = has;
	audio_fork_unguard(g);
}

static void fork_parent(void)
{
	int g = audio_fork_guard();
	if (fork_has_lock)
		pthread_mutex_unlock(&load_lock);
	audio_fork_unguard(g);
}

static void fork_child(void)
{
	runtime_guard++;
	pthread_mutex_init(&load_lock, NULL);
	if (!fork_has_lock && state == 0) {   /* a load was under way: never here */
		state = -1;
		log_msg("a fork came while libdw was being loaded: frames not in the symbol "
			"cache are named by module and address only in this process");
	}
	runtime_guard--;
}

__attribute__((constructor)) static void dwlib_ctor(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void dwlib_last_write(int on)
{
	last_write = on;
}

int dwlib_load(void)
{
	int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
	if (s == 2)
		return 1;
	/* On a real-time thread only where nothing real-time follows: the violating
	 * thread prints its stack and then aborts (AUDIOPROF_ON_VIOLATION=abort), or it
	 * writes the last profile (a callback that calls exit). */
	if (s < 0 || (audio_in_rt() && audio_on_violation != ONV_ABORT && !last_write))
		return 0;
	if (!lock_within(LOAD_WAIT_MS))
		return 0;
	if (state == 0) {
		struct dwlib t;
		const char *why = NULL, *what = open_libs(&t, &why);
		if (what) {
			__atomic_store_n(&state, -1, __ATOMIC_RELEASE);
			log_msg("cannot load %s (%s): frames not in the symbol cache are "
				"named by module and address only", what, why ? why : "?");
		} else {
			memcpy(&dwlib, &t, sizeof(t));
			__atomic_store_n(&state, 2, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&load_lock);
	return dwlib_loaded();
}
