/* runtime.h - the profiler's life cycle and per-thread state: lazy start-up from the
 * first allocation, the constructor, the re-entrancy guard, the writer thread that
 * rewrites the profile periodically, and the flushes at exit, _exit, exec, fork and
 * fatal signals. The shim (shim.c) calls only what is declared here. */
#ifndef AUDIOPROF_RUNTIME_H
#define AUDIOPROF_RUNTIME_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "stacks.h"
#include "clock.h"

#define TLS_IE __attribute__((tls_model("initial-exec")))
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

enum runtime_state {
	RUNTIME_NONE = 0,      /* nothing set up yet */
	RUNTIME_STARTING,      /* one thread is setting up the tables */
	RUNTIME_EARLY,         /* tables up, before our constructor: record [fn, ra] stacks */
	RUNTIME_READY,         /* constructor done: full stacks */
	RUNTIME_OFF,           /* not profiling (forked child with follow-fork off, or failure) */
};

extern int runtime_state;                        /* enum runtime_state */
extern __thread int runtime_guard TLS_IE;        /* >0: calls are the profiler's own */
/* >0: the thread is in a signal handler of the program's that interrupted the profiler's
 * own code (runtime_guard was held). The handler's calls are recorded (sig_trampoline
 * clears runtime_guard for it), but only in ways that cannot disturb the interrupted
 * code: no unwinding, no stack cache, no per-thread plain-store counters (see shim.c). */
extern __thread int runtime_sig_interrupted TLS_IE;

struct runtime_thread {
	struct runtime_thread *next;  /* all thread states ever made (never unlinked) */
	int in_use;
	struct stack_cache *cache;    /* its header: inside the same mapping */
	void *cache_table;            /* its table: wiped on fork (runtime.c) */
	struct sites_local *sums;     /* this thread's share of the sites' pure sums */
};
extern __thread struct runtime_thread *runtime_self TLS_IE;

/* Slow paths of the hot-path checks below. */
int runtime_start(void);                            /* returns the state after trying */
struct runtime_thread *runtime_thread_new(void);    /* NULL if it cannot */
/* Note the calling thread's stack bounds for its stack cache. Only where the thread
 * holds no lock of the program's: the constructor, and a new thread before its start
 * routine (the pthread_create wrapper); never on the allocation path. */
void runtime_thread_start(void);
/* The calling thread's stack, [*lo, *hi) (0, 0 before runtime_thread_start ran on
 * it). Two TLS loads: safe in a signal handler. */
void runtime_stack_bounds(uintptr_t *lo, uintptr_t *hi);
/* The calling thread's frame-shape cache (unwind.h), also before its first allocation
 * made the thread's state its own; NULL if it has none. Safe in a signal handler. */
struct unwind_shapes;
struct unwind_shapes *runtime_thread_shapes(void);
/* An allocation in a signal handler that interrupted the profiler while it was starting
 * (its tables not yet there): it cannot be recorded, only counted (signal_lost). */
void runtime_sig_lost(void);
uint64_t runtime_sig_lost_count(void);

/* May the current call be recorded? Starts the runtime on the first call. */
static inline int runtime_tracking(void)
{
	if (unlikely(runtime_guard))
		return 0;
	int st = __atomic_load_n(&runtime_state, __ATOMIC_ACQUIRE);
	if (likely(st == RUNTIME_READY))
		return 1;
	if (st == RUNTIME_NONE) {
		int e = errno;   /* the program's errno is never the profiler's to change */
		st = runtime_start();
		errno = e;
	}
	if (unlikely(st == RUNTIME_STARTING && runtime_sig_interrupted))
		runtime_sig_lost();
	return st == RUNTIME_READY || st == RUNTIME_EARLY;
}

static inline struct stack_cache *runtime_cache(void)
{
	struct runtime_thread *t = runtime_self;
	if (unlikely(!t)) {
		int e = errno;   /* a thread's first allocation must leave errno as it was */
		t = runtime_thread_new();
		errno = e;
	}
	return t ? t->cache : NULL;
}

/* The calling thread's sums area, or NULL (then the sites' shared counters count, with
 * locked instructions: what a signal handler that interrupted the profiler uses, since
 * the interrupted code may be half-way through a plain update of the area). */
static inline struct sites_local *runtime_sums(void)
{
	struct runtime_thread *t = runtime_self;
	return t && !runtime_sig_interrupted ? t->sums : NULL;
}

/* CLOCK_MONOTONIC ns (the allocation hot path reads clock_ticks() instead). */
static inline uint64_t runtime_now(void)
{
	return clock_mono_ns();
}

extern unsigned runtime_depth;   /* AUDIOPROF_DEPTH */

/* Write the profile now, on the calling thread (guard held inside). reason is one of
 * "exit", "_exit", "exec", "snapshot", "signal". Skipped when profiling is off or the
 * final profile was already written. */
void runtime_flush(const char *reason, int sig);

/* Hooks for the shim's non-allocation wrappers. */
void runtime_before_exec(void);                /* writes the profile ("exec") */
/* The environment to pass to exec instead of envp: envp plus the exec chain when the
 * next program is profiled (envp itself otherwise), built in mem, which the caller
 * provides (runtime_exec_env_size(envp) bytes, on its stack). */
size_t runtime_exec_env_size(char *const envp[]);
char *const *runtime_exec_env(char *const envp[], void *mem, size_t size);
/* Around the real dlclose(handle): before keeps the symbols of the closing module;
 * after, given what before returned, those of every module that went away with it. */
int runtime_before_dlclose(void *handle);
void runtime_after_dlclose(int began);
/* sigaction as the program sees it: our own flush handler (installed where the
 * disposition was SIG_DFL) is reported as SIG_DFL and replaced when the program sets
 * a handler of its own. */
struct sigaction;
int runtime_sigaction(int sig, const struct sigaction *act, struct sigaction *oldact);


#endif
