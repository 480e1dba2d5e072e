/* runtime.c - start-up, per-thread state, the writer thread and every flush of the
 * profile: periodic snapshots, exit, _exit, exec, fork children and fatal signals.
 * Nothing here runs on the allocation hot path except the inline checks in runtime.h;
 * everything that allocates runs with the re-entrancy guard held, so the profiler's
 * own allocations go straight to the allocator underneath (under.h) and never show
 * up in the profile. */
#include "runtime.h"
#include "atomicfile.h"
#include "audio.h"
#include "blocks.h"
#include "clock.h"
#include "cpuprof.h"
#include "dwlib.h"
#include "fds.h"
#include "forkmem.h"
#include "loader.h"
#include "mem.h"
#include "log.h"
#include "options.h"
#include "outpath.h"
#include "ownmem.h"
#include "profile.h"
#include "sites.h"
#include "symbols.h"
#include "symcache.h"
#include "timeline.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int runtime_state;
__thread int runtime_guard TLS_IE;
__thread int runtime_sig_interrupted TLS_IE;
static uint64_t sig_lost;                 /* see runtime_sig_lost */
__thread struct runtime_thread *runtime_self TLS_IE;
/* The calling thread's stack, [lo, hi); 0, 0 until runtime_thread_start ran on it. */
static __thread uintptr_t stack_lo TLS_IE, stack_hi TLS_IE;
unsigned runtime_depth = 32;

static uint64_t start_ns;                 /* CLOCK_MONOTONIC at start (or at fork) */
static pid_t my_pid;                      /* getpid() of this image / fork child */
static unsigned exec_k;                   /* this image is the k-th exec'd one of its pid */
static char cwd0[PATH_MAX];               /* working directory at start */
static char out_path[PATH_MAX + 64];      /* where the profile goes */
static int finished;                      /* final profile written: no more writes */
static int write_failed_logged;
/* Two locks, so that fork() never waits for slow work. write_lock: one profile write at
 * a time (held for the whole write: symbolizing, JSON, the file; never taken by fork).
 * fork_lock: taken by the fork's prepare handler, so held only for short steps whose
 * half-done state a child must not inherit: the clock's calibration pair, the
 * short-lived threshold, a /proc file open for reading. The file a write has open is
 * profile.c's to close in a child (profile_fork_*). */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
#define fork_lock (forkmem_atfork.runtime_fork)   /* on the fork handlers' page (forkmem.h) */
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime_thread *all_threads;     /* push-only list */
static uint64_t nthreads;                 /* distinct threads that allocated (atomic) */
/* State made for this thread when it started, not used yet: its first allocation
 * takes it (and counts the thread) without a lock or a syscall. */
static __thread struct runtime_thread *runtime_prepared TLS_IE;
static __thread int thread_counted TLS_IE; /* this thread is in nthreads */
/* A thread's state is two areas of forkmem's: the state itself with its stack cache's
 * header (copied by fork), and the cache's table, 2 MB of which each distinct stack
 * touches a line, wiped on fork: it is of use to no thread of a child but the forking
 * one, whose cache there starts empty (as a new thread's does) and fills again. The
 * kernel then neither copies the table's page entries at fork nor write-protects
 * them, so the parent's cache hits after the fork take no copy-on-write fault. */
static size_t thread_map_size;
static size_t cache_table_size;
static pthread_key_t thread_key;
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

/* Writer thread and the signal flush hand-off (futex words). */
static pthread_t writer;
static int writer_running;
static pid_t writer_tid;
static int wake_word;                     /* bumped to wake the writer */
static int sig_req;                       /* signal whose flush is requested, or 0 */
static int sig_done;                      /* bumped when a requested flush is done */
static uint32_t presym_upto;              /* sites whose frames the symbolizer has resolved */
static int presym_stop;                   /* the final profile is being written: stop */
static char *writer_stack, *symbolizer_stack;   /* own_stack's */
static int presym_running;                /* the symbolizer thread exists (this process) */
/* fork() calls made by this process (atomic), on the fork handlers' page (forkmem.h) */
#define parent_forks (forkmem_atfork.runtime_forks)

/* Signals whose default action kills: ours while the program has not taken them. */
static const int flush_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				     SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
#define NSIG_OURS (sizeof(flush_signals) / sizeof(flush_signals[0]))
static int ours[NSIG];                    /* 1: our handler is installed for this signal */
/* The program's handler for each signal it gave one (sa_handler or sa_sigaction), run by
 * sig_trampoline, which the kernel sees instead; and the program's sa_flags for it. */
static void *user_fn[NSIG];
static int user_flags[NSIG];
static char added_siginfo[NSIG];          /* SA_SIGINFO is ours, not the program's */
/* What the program last set where our flush handler stands in for SIG_DFL (its mask and
 * flags read back as natively); empty until it sets one. */
static struct sigaction dfl_act[NSIG];
static char dfl_set[NSIG];
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000   /* glibc sets it on every handler it installs */
#endif

/* ------------------------------------------------------------ small helpers */

static long futex(int *uaddr, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static void spawned(void *ready);   /* threads */

static void wake(int *word)
{
	__atomic_add_fetch(word, 1, __ATOMIC_RELEASE);
	futex(word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

/* ------------------------------------------------------------ output path */

/* out_path from AUDIOPROF_OUT (common/outpath.h), absolute against the directory the
 * program started in. Runs once per image and in a fork child: its buffers are
 * static (large for the stack; the child has one thread). */
static void compute_out_path(void)
{
	static char pattern[2 * PATH_MAX + 64], name[PATH_MAX + 64];
	static struct atomicfile scratch;
	const char *pat = OPT_STR(OPT_OUT);
	/* Without a working directory a relative pattern stays relative. */
	if (cwd0[0] && outpath_absolute(pat, cwd0, pattern, sizeof(pattern)) == 0)
		pat = pattern;
	if (outpath_expand(pat, my_pid, program_invocation_short_name, out_path,
			   sizeof(out_path)) != 0)
		log_msg("AUDIOPROF_OUT: the file name is longer than %zu bytes; cut to %s",
			sizeof(out_path) - 1, out_path);
	/* The k-th exec'd image of one pid: "x.json" -> "x.k.json". Not for a device,
	 * FIFO or open file (/dev/null, /dev/stdout): every image writes into that one. */
	if (exec_k > 0 && !atomicfile_writes_into(&scratch, out_path) &&
	    outpath_exec_suffix(out_path, exec_k, name, sizeof(name)) == 0 &&
	    strlen(name) < sizeof(out_path))
		memcpy(out_path, name, strlen(name) + 1);
}

/* ------------------------------------------------------------ start-up */

int runtime_start(void)
{
	int expect = RUNTIME_NONE;
	if (!__atomic_compare_exchange_n(&runtime_state, &expect, RUNTIME_STARTING, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return expect;   /* another thread is starting it, or it is up */
	runtime_guard++;
	options_load();
	runtime_depth = (unsigned)OPT_NUM(OPT_DEPTH) + 1;   /* +1: frame 0 is the allocator */
	if (runtime_depth > SITES_MAX_DEPTH)
		runtime_depth = SITES_MAX_DEPTH;
	clock_init(OPT_NUM(OPT_CLOCK) == 0);
	symcache_init(OPT_STR(OPT_SYMCACHE));
	sites_set_short_lived((uint64_t)OPT_NUM(OPT_SHORT_LIVED));
	start_ns = runtime_now();
	my_pid = getpid();
	int st = sites_init() == 0 ? RUNTIME_EARLY : RUNTIME_OFF;
	if (st == RUNTIME_OFF)
		log_msg("cannot reserve memory for the site table; not profiling");
	runtime_guard--;
	__atomic_store_n(&runtime_state, st, __ATOMIC_RELEASE);
	return st;
}

static void thread_exit(void *arg)
{
	struct runtime_thread *t = arg;
	runtime_self = NULL;
	runtime_prepared = NULL;
	/* What runs after this (other threads-specific destructors, libunwind's own) is
	 * thread teardown, not the thread's real-time work. */
	ap_rt.never_rt = 1;
	ap_rt.depth = 0;
	ap_rt.nframes = 0;
	ap_rt.thread_src = NULL;
	cpuprof_thread_exit();
	__atomic_store_n(&t->in_use, 0, __ATOMIC_RELEASE);   /* reusable by a new thread */
}

/* A state for the calling thread (reused or new), its stack bounds set and its
 * destructor registered; not yet the thread's (runtime_self) nor counted. */
static struct runtime_thread *thread_make(void)
{
	struct runtime_thread *t = NULL;
	runtime_guard++;
	pthread_mutex_lock(&threads_lock);
	for (struct runtime_thread *i = all_threads; i; i = i->next) {
		if (!i->in_use) {
			t = i;
			break;
		}
	}
	if (!t) {
		void *m = forkmem_map(thread_map_size);
		void *table = m ? forkmem_map_wiped(cache_table_size) : NULL;
		if (table) {
			t = m;
			t->cache = (struct stack_cache *)((char *)m + 64);
			t->cache_table = table;
			stacks_cache_init(t->cache, runtime_depth, table);
			t->sums = sites_local_new();
			t->next = all_threads;
			all_threads = t;
		} else if (m) {
			forkmem_unmap(m, thread_map_size);
		}
	} else {
		/* A reused cache: forget its entries (their stacks were another thread's). */
		stacks_cache_init(t->cache, runtime_depth, NULL);
	}
	if (t)
		t->in_use = 1;
	pthread_mutex_unlock(&threads_lock);
	if (t) {
		/* Where this thread's stack is, so the cache never reads outside it: known
		 * since the thread started (runtime_thread_start). Never asked here: this
		 * may be the program's own pthread_getattr_np, which allocates while it
		 * holds the thread's lock (Rust's runtime does that before main). */
		stacks_cache_set_stack(t->cache, stack_lo, stack_hi);
		pthread_setspecific(thread_key, t);
	}
	runtime_guard--;
	return t;
}

/* The thread's state becomes its own; the thread is counted once, whether its state
 * is new or an exited thread's (and not again if it allocates after thread_exit). */
static struct runtime_thread *thread_adopt(struct runtime_thread *t)
{
	if (!thread_counted) {
		thread_counted = 1;
		__atomic_fetch_add(&nthreads, 1, __ATOMIC_RELAXED);
	}
	runtime_self = t;
	return t;
}

struct runtime_thread *runtime_thread_new(void)
{
	if (runtime_state != RUNTIME_READY)
		return NULL;
	struct runtime_thread *t = runtime_prepared;
	if (t) {
		runtime_prepared = NULL;
		return thread_adopt(t);
	}
	t = thread_make();
	return t ? thread_adopt(t) : NULL;
}

/* Called where the calling thread holds no lock of the program's: the constructor (for
 * the main thread) and the start of every thread the program creates with
 * pthread_create, before its start routine (rtcheck.c). glibc's pthread_getattr_np
 * takes the thread's own lock, reads /proc/self/maps for the main thread and
 * allocates; under the guard its allocations are the profiler's own. */
void runtime_thread_start(void)
{
	pthread_attr_t a;
	void *lo = NULL;
	size_t size = 0;
	int saved = errno;   /* a new thread starts with the errno it would have had */
	runtime_guard++;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		if (pthread_attr_getstack(&a, &lo, &size) != 0) {
			lo = NULL;
			size = 0;
		}
		pthread_attr_destroy(&a);
	}
	runtime_guard--;
	errno = saved;
	stack_lo = lo ? (uintptr_t)lo : 0;
	stack_hi = lo ? (uintptr_t)lo + size : 0;
	audio_thread_start();
	cpuprof_thread_start();   /* its sampling timer: a syscall, here where it is free */
	/* The thread's state now, holding no lock of the program's: not on its first
	 * allocation, which may come inside an audio callback (threads_lock, mmap). */
	if (__atomic_load_n(&runtime_state, __ATOMIC_ACQUIRE) == RUNTIME_READY && !runtime_self &&
	    !runtime_prepared)
		runtime_prepared = thread_make();
}

void runtime_stack_bounds(uintptr_t *lo, uintptr_t *hi)
{
	*lo = stack_lo;
	*hi = stack_hi;
}

struct unwind_shapes *runtime_thread_shapes(void)
{
	struct runtime_thread *t = runtime_self ? runtime_self : runtime_prepared;
	return t ? stacks_cache_shapes(t->cache) : NULL;
}

/* ------------------------------------------------------------ writing */

/* Read a small /proc file whole under fork_lock: a fork never leaves its fd open in
 * the child. Returns the bytes read, or -1. */
static ssize_t read_proc(const char *path, char *buf, size_t cap)
{
	pthread_mutex_lock(&fork_lock);
	ssize_t n = -1;
	int fd = fds_open(path, O_RDONLY, 0);
	if (fd >= 0) {
		n = read(fd, buf, cap);
		close(fd);
	}
	pthread_mutex_unlock(&fork_lock);
	return n;
}

static uint64_t read_vmhwm(void)
{
	char buf[4096];
	ssize_t n = read_proc("/proc/self/status", buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strstr(buf, "VmHWM:");
	return p ? strtoull(p + 6, NULL, 10) * 1024 : 0;
}

static void read_cmdline(char *buf, size_t cap)
{
	buf[0] = 0;
	ssize_t n = read_proc("/proc/self/cmdline", buf, cap - 1);
	if (n <= 0)
		return;
	while (n > 0 && buf[n - 1] == 0)
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == 0)
			buf[i] = ' ';
	buf[n] = 0;
}

static uint64_t own_bytes(void)
{
	uint64_t live_b, live_k;
	sites_live(&live_b, &live_k);   /* the live blocks only: no per-site totals */
	size_t threads = 0;
	for (struct runtime_thread *th = all_threads; th; th = th->next)
		threads += mem_resident(th, thread_map_size) +
			   mem_resident(th->cache_table, cache_table_size);
	return sites_footprint() + audio_footprint() + cpuprof_footprint() + threads + live_k * BLOCK_HDR_SIZE;
}

/* Refine the tick rate (and so the short-lived threshold in ticks): a short step, under
 * fork_lock, so that a child never inherits half an update. Returns CLOCK_MONOTONIC ns. */
static uint64_t sync_clock(void)
{
	uint64_t ticks_now;
	pthread_mutex_lock(&fork_lock);
	uint64_t now_ns = clock_sync(&ticks_now);
	if (clock_tsc)
		sites_set_short_lived((uint64_t)OPT_NUM(OPT_SHORT_LIVED));
	pthread_mutex_unlock(&fork_lock);
	return now_ns;
}

/* Caller holds write_lock and the guard. */
static void write_locked(const char *reason, int sig)
{
	if (finished || runtime_state == RUNTIME_OFF ||
	    runtime_state == RUNTIME_NONE || runtime_state == RUNTIME_STARTING)
		return;
	static char cmd[8192];
	read_cmdline(cmd, sizeof(cmd));
	/* A fresh pair of clock reads: the longest baseline for converting ticks. */
	uint64_t now_ns = sync_clock();
	struct stacks_counters sc = { 0, 0, 0 };
	for (struct runtime_thread *t = all_threads; t; t = t->next)
		stacks_cache_counters(t->cache, &sc);
	struct profile_meta m = {
		.cmd = cmd,
		.pid = my_pid,
		.ppid = getppid(),
		.start_ns = start_ns,
		.end_ns = now_ns,
		.short_lived_ns = (uint64_t)OPT_NUM(OPT_SHORT_LIVED),
		.reason = reason,
		.signal = sig,
		.depth = runtime_depth - 1,
		.own_bytes = own_bytes(),
		.peak_rss = read_vmhwm(),
		.threads = __atomic_load_n(&nthreads, __ATOMIC_RELAXED),
		.cache_hits = sc.hits,
		.cache_misses = sc.misses,
		.cache_uncacheable = sc.uncacheable,
		.signal_lost = runtime_sig_lost_count(),
	};
	if (profile_write(out_path, &m) != 0 && !write_failed_logged) {
		write_failed_logged = 1;
		log_msg("cannot write the profile to %s: %s", out_path, atomicfile_strerror(errno));
	}
	symbols_persist();
}

void runtime_flush(const char *reason, int sig)
{
	if (runtime_state != RUNTIME_READY && runtime_state != RUNTIME_EARLY)
		return;
	if (getpid() != my_pid)
		return;   /* a vfork child shares our memory: never write from it */
	runtime_guard++;
	dwlib_last_write(1);   /* may be a real-time thread's: the frames need libdw */
	pthread_mutex_lock(&write_lock);
	write_locked(reason, sig);
	pthread_mutex_unlock(&write_lock);
	dwlib_last_write(0);
	runtime_guard--;
}

/* Resolve the frames of the sites interned since the last call while the program
 * runs: symbols are cached per address, so the profile written at exit only looks them
 * up. Loading a module's debug information (libc's, decompressed, takes ~100 ms here)
 * then overlaps the program's own work instead of delaying its exit. Returns whether
 * there were new sites. */
#define PRESYM_SEEN_BITS 14

static int presymbolize(void)
{
	/* The return addresses resolved lately, direct-mapped (symbolizer thread only):
	 * sites share most of their frames (cc1: 7,400 addresses in 460,000 frames), and
	 * each of those cost the symbolizer's lock and lookup. One forgotten is only
	 * looked up again; one skipped is in the symbolizer's cache already. */
	static uintptr_t *seen;
	if (!seen)
		seen = calloc((size_t)1 << PRESYM_SEEN_BITS, sizeof(*seen));
	uint32_t n = sites_count();
	if (n <= presym_upto)
		return 0;
	for (uint32_t id = presym_upto + 1; id <= n; id++) {
		unsigned depth = 0;
		const uintptr_t *ips = sites_stack(id, &depth);
		/* ips[0] is the interposed function; the rest are return addresses */
		for (unsigned k = 1; ips && k < depth; k++) {
			if (__atomic_load_n(&presym_stop, __ATOMIC_RELAXED))
				return 1;
			uintptr_t ip = ips[k];
			uintptr_t *slot = seen ? &seen[(ip * 0x9E3779B97F4A7C15ull) >>
						   (64 - PRESYM_SEEN_BITS)] : NULL;
			if (slot && *slot == ip)
				continue;
			symbols_resolve(ip, NULL, NULL);
			if (slot)
				*slot = ip;
		}
		presym_upto = id;
	}
	return 1;
}

/* The symbolizer: its own thread, so that a long debug-information load never delays
 * the writer's timeline samples, snapshots, warnings or signal flushes. */
#define PRESYM_NS 20000000u   /* while new sites keep appearing, look every 20 ms */
#define PRESYM_IDLE_NS 200000000u

/* Once the debug information has not been needed for a second, it goes; each time it
 * had to be loaded again after that, the wait doubles, up to a minute. */
#define PRESYM_RELEASE_NS 1000000000ull
#define PRESYM_RELEASE_MAX_NS 60000000000ull
/* In a process that has forked since, the wait is a fiftieth of that (20 ms at first):
 * every fork copies what is held. */
#define PRESYM_RELEASE_FORK_DIV 50

static void *symbolizer_main(void *arg)
{
	loader_own_thread();   /* its module-list walks wait for a fork, and it for them */
	runtime_guard = 1;   /* forever: its allocations are the profiler's own */
	spawned(arg);
	fds_private_table();   /* what it opens (ELF, debug, cache files) stays unseen */
	ap_rt.never_rt = 1;
	pthread_setname_np(pthread_self(), "audioprof-sym");
	uint64_t release_after = PRESYM_RELEASE_NS, last_use = runtime_now();
	uint64_t uses = 0, uses_released = 0;
	unsigned forks_at_use = __atomic_load_n(&parent_forks, __ATOMIC_RELAXED);
	int released = 0;
	while (!__atomic_load_n(&presym_stop, __ATOMIC_RELAXED)) {
		int more = presymbolize();
		if (more)
			symbols_persist();   /* new frames into the persistent cache */
		/* Every frame seen so far is in the per-ip cache: once libdw has not been
		 * needed for a while (new sites may keep coming whose frames are all known),
		 * the debug information (a C library's, decompressed, is over 10 MB here)
		 * is let go. A process holding it made each fork() copy its page tables
		 * (fork took ten times as long as natively); a new frame later loads what it
		 * needs again, here, off the program's threads (a C library's takes a tenth
		 * of a second), so each time that happened, the next release waits twice
		 * as long. Frames resolved by any thread count (a profile write's too). */
		struct symbols_stats st;
		symbols_get_stats(&st);
		uint64_t now = runtime_now();
		if (st.dwarf + st.symtab != uses) {
			uses = st.dwarf + st.symtab;
			last_use = now;
			forks_at_use = __atomic_load_n(&parent_forks, __ATOMIC_RELAXED);
			if (released && release_after < PRESYM_RELEASE_MAX_NS)
				release_after *= 2;
			released = 0;
		}
		uint64_t wait = __atomic_load_n(&parent_forks, __ATOMIC_RELAXED) != forks_at_use
				? release_after / PRESYM_RELEASE_FORK_DIV : release_after;
		if (uses != uses_released && now - last_use >= wait) {
			symbols_release();
			uses_released = uses;
			released = 1;
		}
		uint64_t d = more ? PRESYM_NS : PRESYM_IDLE_NS;
		struct timespec ts = { (time_t)(d / 1000000000u), (long)(d % 1000000000u) };
		int w = 0;
		futex(&w, FUTEX_WAIT_PRIVATE, 0, &ts);   /* a sleep (nanosleep is interposed) */
	}
	return arg;
}

/* The stack of a thread of the profiler's own, 8 MB from forkmem (*slot: made on first
 * use, then reused by the thread a fork child starts again; the parent's thread does not
 * exist there), its lowest page a guard; NULL if it cannot be made. Not glibc's: under
 * the program's mlockall(MCL_FUTURE) the kernel would lock and fill glibc's stack, or
 * refuse it beyond RLIMIT_MEMLOCK, and count it against the program's limit; forkmem's
 * memory is never locked. Wiped on fork: a child's copy would be of no thread. */
#define OWN_STACK_BYTES ((size_t)8 << 20)
static char *own_stack(char **slot)
{
	if (!*slot) {
		char *m = forkmem_map_wiped(OWN_STACK_BYTES);
		if (m && mprotect(m, (size_t)getpagesize(), PROT_NONE) == 0)
			*slot = m;
	}
	return *slot;
}

/* Called first by a thread spawn() started, with its argument: notes the thread's malloc
 * arena as the profiler's (ownmem.h; the arena is made by the thread's first allocation,
 * in pthread_create's wrapper), then lets spawn() return. */
static void spawned(void *ready)
{
	ownmem_thread_start();
	__atomic_store_n((int *)ready, 1, __ATOMIC_RELEASE);
	futex(ready, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

/* A detached thread of the profiler's own, started with every signal blocked (signals
 * never land on it), on the stack *stack (own_stack), with the argument its spawned()
 * call wants. Returns 0 or an error number, once the thread has called spawned() (a
 * later mlockall of the program's then knows the thread's arena) or 0.2 s passed. */
static int spawn(pthread_t *t, void *(*fn)(void *), char **stack)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	char *s = own_stack(stack);
	size_t page = (size_t)getpagesize();
	if (s)
		pthread_attr_setstack(&a, s + page, OWN_STACK_BYTES - page);
	static int ready;   /* spawn runs on one thread at a time (start-up, writer, fork child) */
	__atomic_store_n(&ready, 0, __ATOMIC_RELAXED);
	int err = pthread_create(t, &a, fn, &ready);
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* At most 0.2 s: the constructor spawns the writer under the loader's lock, which
	 * the new thread must never need before spawned(); should it, the wait ends and
	 * only a later mlockall's sum may miss the thread's arena. */
	struct timespec tick = { 0, 10000000 };
	for (int i = 0; !err && i < 20 && !__atomic_load_n(&ready, __ATOMIC_ACQUIRE); i++)
		futex(&ready, FUTEX_WAIT_PRIVATE, 0, &tick);
	return err;
}

static void start_symbolizer(void)
{
	pthread_t t;
	if (!presym_running)
		presym_running = spawn(&t, symbolizer_main, &symbolizer_stack) == 0;
}

static void *writer_main(void *arg)
{
	loader_own_thread();   /* its module-list walks wait for a fork, and it for them */
	runtime_guard = 1;   /* forever: everything this thread does is the profiler's own */
	spawned(arg);
	fds_private_table();   /* what it opens (the profile, /proc files) stays unseen */
	ap_rt.never_rt = 1;
	writer_tid = (pid_t)syscall(SYS_gettid);
	pthread_setname_np(pthread_self(), "audioprof");
	int64_t interval = OPT_NUM(OPT_INTERVAL);
	uint64_t next = interval ? runtime_now() + (uint64_t)interval : 0;
	uint64_t presym_from = runtime_now() + PRESYM_NS;
	for (;;) {
		int w = __atomic_load_n(&wake_word, __ATOMIC_ACQUIRE);
		int sig = __atomic_load_n(&sig_req, __ATOMIC_ACQUIRE);
		if (sig) {
			pthread_mutex_lock(&write_lock);
			write_locked("signal", sig);
			pthread_mutex_unlock(&write_lock);
			__atomic_store_n(&sig_req, 0, __ATOMIC_RELEASE);
			wake(&sig_done);
			continue;
		}
		audio_writer_tick();
		cpuprof_writer_tick();
		if (clock_tsc)
			sync_clock();
		uint64_t now = runtime_now();
		/* The symbolizer starts once the program has run PRESYM_NS and made a site: a
		 * program that exits before gains nothing from it (its frames are resolved at
		 * exit either way) and would pay for a thread. */
		if (!presym_running && now >= presym_from && sites_count() > SITES_OVERFLOW)
			start_symbolizer();
		uint64_t sample_at = timeline_tick(now);
		if (next && now >= next) {
			pthread_mutex_lock(&write_lock);
			write_locked("snapshot", 0);
			pthread_mutex_unlock(&write_lock);
			next = runtime_now() + (uint64_t)interval;
			continue;
		}
		struct timespec ts, *tsp = NULL;
		/* New violations are reported within 100 ms in warn mode. */
		uint64_t wake_at = audio_on_violation == ONV_WARN && (!next || next > now + 100000000u)
				   ? now + 100000000u : next;
		if (sample_at && (!wake_at || sample_at < wake_at))
			wake_at = sample_at;
		/* Sampling timers asked for by threads entering real-time code start here. */
		if (cpuprof_on() && (!wake_at || wake_at > now + CPUPROF_ARM_NS))
			wake_at = now + CPUPROF_ARM_NS;
		/* Until the symbolizer runs, look for the first site every PRESYM_NS. */
		if (!presym_running && (!wake_at || wake_at > now + PRESYM_NS))
			wake_at = now + PRESYM_NS;
		if (wake_at) {
			uint64_t d = wake_at - now;
			ts.tv_sec = (time_t)(d / 1000000000u);
			ts.tv_nsec = (long)(d % 1000000000u);
			tsp = &ts;
		}
		futex(&wake_word, FUTEX_WAIT_PRIVATE, w, tsp);
	}
	return arg;
}

static void start_writer(void)
{
	writer_running = spawn(&writer, writer_main, &writer_stack) == 0;
	if (!writer_running)
		log_msg("cannot start the writer thread; snapshots and signal flushes are off");
}

/* ------------------------------------------------------------ signals */

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	(void)si;
	(void)uc;
	if (writer_running && (pid_t)syscall(SYS_gettid) != writer_tid && getpid() == my_pid) {
		int seq = __atomic_load_n(&sig_done, __ATOMIC_ACQUIRE);
		int expect = 0;
		if (__atomic_compare_exchange_n(&sig_req, &expect, sig, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			wake(&wake_word);
		/* Wait for the writer, at most 5 s in all. */
		uint64_t deadline = runtime_now() + 5000000000ull;
		while (__atomic_load_n(&sig_done, __ATOMIC_ACQUIRE) == seq) {
			uint64_t now = runtime_now();
			if (now >= deadline)
				break;
			struct timespec ts = { 0, 100000000 };
			futex(&sig_done, FUTEX_WAIT_PRIVATE, seq, &ts);
		}
	}
	/* Die of the same signal, with its default action. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	real_sigaction(sig, &dfl, NULL);
	ours[sig] = 0;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	raise(sig);
	errno = saved;
}

/* Every handler the program installs runs through here. A signal that lands while the
 * thread is in the profiler's own code (runtime_guard held: recording an allocation, starting
 * a thread's state, writing the profile) used to find the guard held in the handler
 * too, and the handler's allocations went unrecorded (0.4 % of a signal storm's). The
 * guard is lifted for the handler's duration and runtime_sig_interrupted says why, so its
 * calls are recorded the safe way (shim.c), then both are put back. The handler is called
 * with the three arguments the kernel passes to every handler on this ABI, whichever
 * form it has (SA_SIGINFO or not). A handler left with siglongjmp keeps the guard
 * lifted: the interrupted profiler code is abandoned, as natively the interrupted code
 * is. */
static void sig_trampoline(int sig, siginfo_t *si, void *uc)
{
	void (*fn)(int, siginfo_t *, void *) =
		(void (*)(int, siginfo_t *, void *))__atomic_load_n(&user_fn[sig], __ATOMIC_ACQUIRE);
	int guard = runtime_guard, interrupted = runtime_sig_interrupted;
	if (guard) {
		runtime_sig_interrupted = 1;
		runtime_guard = 0;
	}
	if (fn)
		fn(sig, si, uc);
	runtime_guard = guard;
	runtime_sig_interrupted = interrupted;
}

void runtime_sig_lost(void)
{
	__atomic_add_fetch(&sig_lost, 1, __ATOMIC_RELAXED);
}

uint64_t runtime_sig_lost_count(void)
{
	return __atomic_load_n(&sig_lost, __ATOMIC_RELAXED);
}

static void install_ours(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (real_sigaction(sig, &sa, NULL) == 0)
		ours[sig] = 1;
}

static int managed(int sig)
{
	for (size_t i = 0; i < NSIG_OURS; i++)
		if (flush_signals[i] == sig)
			return 1;
	return 0;
}

static void install_signals(void)
{
	if (!OPT_NUM(OPT_SIGNALS) || !real_sigaction)
		return;
	for (size_t i = 0; i < NSIG_OURS; i++) {
		struct sigaction old;
		if (real_sigaction(flush_signals[i], NULL, &old) == 0 &&
		    !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL)
			install_ours(flush_signals[i]);
	}
}

int runtime_sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
	if (!real_sigaction) {
		real_sigaction = dlsym(RTLD_NEXT, "sigaction");
		if (!real_sigaction) {
			errno = ENOSYS;
			return -1;
		}
	}
	if (sig <= 0 || sig >= NSIG)
		return real_sigaction(sig, act, oldact);
	if (sig == cpuprof_signal())
		return cpuprof_sigaction(act, oldact);   /* shared with the CPU sampler */
	int flush = managed(sig) && OPT_NUM(OPT_SIGNALS);
	struct sigaction cur;
	if (real_sigaction(sig, NULL, &cur) != 0)
		return -1;
	int was_ours = flush && ours[sig] && (cur.sa_flags & SA_SIGINFO) &&
		       cur.sa_sigaction == on_signal;
	int was_wrapped = (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == sig_trampoline;
	/* What the program would see natively: its own handler and flags (the kernel's
	 * SA_RESTORER included), or SIG_DFL where ours stands in for the default. */
	struct sigaction seen = cur;
	if (was_ours) {
		memset(&seen, 0, sizeof(seen));
		if (dfl_set[sig]) {   /* as the kernel keeps it, with glibc's restorer flag */
			seen = dfl_act[sig];
			seen.sa_flags |= cur.sa_flags & SA_RESTORER;
		}
		seen.sa_handler = SIG_DFL;
	} else if (was_wrapped) {
		seen.sa_sigaction = (void (*)(int, siginfo_t *, void *))user_fn[sig];
		seen.sa_flags = (cur.sa_flags & ~SA_SIGINFO) | (user_flags[sig] & SA_SIGINFO);
	} else if (added_siginfo[sig] && cur.sa_handler == SIG_DFL) {
		seen.sa_flags &= ~SA_SIGINFO;   /* SA_RESETHAND reset our trampoline */
	}
	if (act) {
		void *fn = act->sa_flags & SA_SIGINFO ? (void *)act->sa_sigaction
						      : (void *)act->sa_handler;
		int to_default = fn == (void *)SIG_DFL;
		int is_fn = !to_default && fn != (void *)SIG_IGN;
		if (flush && to_default) {
			if (!was_ours)
				install_ours(sig);
			dfl_act[sig] = *act;
			dfl_set[sig] = 1;
			added_siginfo[sig] = 0;
		} else if (is_fn) {
			/* Published before the kernel can call the trampoline for it. */
			void *old_fn = user_fn[sig];
			int old_flags = user_flags[sig];
			user_flags[sig] = act->sa_flags;
			__atomic_store_n(&user_fn[sig], fn, __ATOMIC_RELEASE);
			struct sigaction w = *act;
			w.sa_flags |= SA_SIGINFO;
			w.sa_sigaction = sig_trampoline;
			if (real_sigaction(sig, &w, NULL) != 0) {
				int e = errno;
				if (was_wrapped) {
					user_flags[sig] = old_flags;
					__atomic_store_n(&user_fn[sig], old_fn, __ATOMIC_RELEASE);
				}
				errno = e;
				return -1;
			}
			ours[sig] = 0;
			added_siginfo[sig] = !(act->sa_flags & SA_SIGINFO);
		} else {
			if (real_sigaction(sig, act, NULL) != 0)
				return -1;
			ours[sig] = 0;
			added_siginfo[sig] = 0;
		}
	}
	if (oldact)
		*oldact = seen;
	return 0;
}

/* ------------------------------------------------------------ fork, exec, dlclose */

/* The exec chain: which image of its process this one is, so that the k-th program a
 * process becomes through exec writes a file of its own (x.json, x.1.json, ...). It
 * travels as AUDIOPROF_EXEC_CHAIN=<pid>:<k> in the environment passed to exec, and
 * only there: the constructor takes it out of environ before the program runs (in
 * place, no allocation), and the interposed exec functions add it to the environment
 * they pass on (runtime_exec_env). The program never sees it, in its own environ or
 * in what it passes to a child. */

/* This library's file name, found by the constructor: exec (maybe in a fork or vfork
 * child) must not ask the loader, whose lock another thread may hold. */
static char my_name[256];

static void find_my_name(void)
{
	Dl_info info;
	if (!dladdr((void *)runtime_flush, &info) || !info.dli_fname)
		return;
	const char *me = strrchr(info.dli_fname, '/');
	me = me ? me + 1 : info.dli_fname;
	snprintf(my_name, sizeof(my_name), "%s", me);
}

/* Does an LD_PRELOAD value name this library (by its file name)? */
static int preload_names_us(const char *pre)
{
	const char *me = my_name;
	size_t ml = strlen(me);
	if (!pre)
		return 0;
	for (const char *p = pre; *p;) {
		while (*p == ' ' || *p == ':')
			p++;
		const char *e = p, *base = p;
		while (*e && *e != ' ' && *e != ':')
			if (*e++ == '/')
				base = e;
		if ((size_t)(e - base) == ml && ml && strncmp(base, me, ml) == 0)
			return 1;
		p = e;
	}
	return 0;
}

static int is_chain_entry(const char *e)
{
	const char *n = options_table[OPT_EXEC_CHAIN].name;
	size_t l = strlen(n);
	return strncmp(e, n, l) == 0 && e[l] == '=';
}

size_t runtime_exec_env_size(char *const envp[])
{
	size_t n = 0;
	while (envp && envp[n])
		n++;
	return (n + 2) * sizeof(char *) + 64;
}

char *const *runtime_exec_env(char *const envp[], void *mem, size_t size)
{
	if (runtime_state != RUNTIME_READY && runtime_state != RUNTIME_EARLY)
		return envp;
	if (!OPT_NUM(OPT_FOLLOW_EXEC))
		return envp;   /* the next program is not profiled: nothing to tell it */
	/* Only a program that gets the preload is told (its environment names us). */
	int ours = 0;
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0 && preload_names_us(envp[i] + 11))
			ours = 1;
	if (!ours)
		return envp;
	char **out = mem;
	size_t n = 0;
	for (size_t i = 0; envp && envp[i]; i++)
		if (!is_chain_entry(envp[i]))
			out[n++] = envp[i];
	char *v = (char *)mem + size - 64;
	snprintf(v, 64, "%s=%d:%u", options_table[OPT_EXEC_CHAIN].name, (int)my_pid, exec_k);
	out[n++] = v;
	out[n] = NULL;
	return out;
}

/* "<pid>:<k>" as runtime_exec_env writes it: decimal, pid > 0, k below UINT_MAX (this
 * image is k + 1). Anything else is refused. */
static int parse_exec_chain(const char *s, long *pid, unsigned *k)
{
	unsigned long long p = 0, c = 0;
	const char *q = s;
	if (*q < '0' || *q > '9')
		return -1;
	for (; *q >= '0' && *q <= '9'; q++)
		if ((p = p * 10 + (unsigned)(*q - '0')) > INT_MAX)
			return -1;
	if (*q++ != ':' || *q < '0' || *q > '9' || p == 0)
		return -1;
	for (; *q >= '0' && *q <= '9'; q++)
		if ((c = c * 10 + (unsigned)(*q - '0')) >= UINT_MAX)
			return -1;
	if (*q)
		return -1;
	*pid = (long)p;
	*k = (unsigned)c;
	return 0;
}

/* Read the chain and take it out of environ (unsetenv moves the later pointers down; it
 * does not allocate). Runs in the constructor, before the program's own code. */
static void take_exec_chain(void)
{
	const char *name = options_table[OPT_EXEC_CHAIN].name;
	const char *chain = getenv(name);
	if (!chain)
		return;
	long cpid;
	unsigned ck;
	if (parse_exec_chain(chain, &cpid, &ck) != 0)
		log_msg("%s=\"%s\" is not <pid>:<count> as the profiler sets it (it is internal; "
			"do not set it): ignored, this program's profile is not numbered as an "
			"exec'd image", name, chain);
	else if (cpid == (long)my_pid)
		exec_k = ck + 1;
	unsetenv(name);
}

/* fork() waits here only for short steps (fork_lock, profile.c's file lock; in loader.c
 * for a profiler thread's walk of the loader's module list), never for a profile write
 * in progress: the writer may be anywhere in one (symbolizing, writing JSON, in fsync).
 * The child inherits that write's memory (leaked there), not its file
 * (profile_fork_child closes it), and starts over with its own profile. */
static void atfork_prepare(void)
{
	int g = audio_fork_guard();   /* the lock calls are the profiler's own */
	__atomic_add_fetch(&parent_forks, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&fork_lock);
	profile_fork_prepare();
	audio_fork_unguard(g);
}

static void atfork_parent(void)
{
	int g = audio_fork_guard();
	profile_fork_parent();
	pthread_mutex_unlock(&fork_lock);
	audio_fork_unguard(g);
}

/* Everything here is the profiler's own work: the guard, given back at each return. */
static void atfork_child(void)
{
	runtime_guard++;
	profile_fork_child();
	pthread_mutex_init(&fork_lock, NULL);
	/* write_lock may be held by the parent's writer, a thread the child does not have */
	pthread_mutex_init(&write_lock, NULL);
	pthread_mutex_init(&threads_lock, NULL);
	my_pid = getpid();
	ownmem_fork_child();
	writer_running = 0;
	presym_running = 0;   /* threads do not survive a fork; the writer starts another */
	finished = 0;
	if (!OPT_NUM(OPT_FOLLOW_FORK)) {
		__atomic_store_n(&runtime_state, RUNTIME_OFF, __ATOMIC_RELEASE);
		runtime_guard--;
		return;
	}
	/* Thread states of threads that do not exist in the child become reusable. */
	for (struct runtime_thread *t = all_threads; t; t = t->next)
		if (t != runtime_self)
			t->in_use = 0;
	nthreads = thread_counted;   /* the child's threads: this one, if it allocated */
	fds_grow_table();            /* before start_writer: no thread shares the table yet */
	start_ns = runtime_now();
	sites_reset_after_fork(clock_ticks());
	timeline_reset(start_ns);
	audio_reset_after_fork();
	cpuprof_after_fork();
	exec_k = 0;
	compute_out_path();
	symbols_refresh();
	if (runtime_state == RUNTIME_READY)
		start_writer();
	runtime_guard--;
}

void runtime_before_exec(void)
{
	struct heap_totals t;
	sites_totals(&t);
	/* A fork child that allocated nothing before exec has nothing worth a file. */
	if (t.total_k == 0)
		return;
	runtime_flush("exec", 0);
}

int runtime_before_dlclose(void *handle)
{
	/* The profiler's own dlclose (shim.c's C++ runtime lookup: a handle taken with
	 * RTLD_NOLOAD, so nothing is unloaded) may come from inside an allocation: no
	 * symbolization there. */
	if (runtime_state != RUNTIME_READY || runtime_guard)
		return 0;
	/* No write_lock here: dlclose may run under the loader lock (from a constructor
	 * or destructor) while the writer, holding write_lock, waits for that lock inside
	 * dl_iterate_phdr. symbols.c is thread-safe on its own. */
	runtime_guard++;
	int began = symbols_module_closing(handle);
	runtime_guard--;
	return began;
}

void runtime_after_dlclose(int began)
{
	if (!began)
		return;
	runtime_guard++;
	symbols_module_closed();
	runtime_guard--;
}

/* Without follow-exec, nothing this program starts gets the preload. */
static void drop_preload_from_env(void)
{
	Dl_info info;
	const char *pre = getenv("LD_PRELOAD");
	if (!pre || !dladdr((void *)runtime_flush, &info) || !info.dli_fname)
		return;
	const char *me = strrchr(info.dli_fname, '/');
	me = me ? me + 1 : info.dli_fname;
	char out[4096];
	size_t n = 0;
	out[0] = 0;
	const char *p = pre;
	while (*p) {
		while (*p == ' ' || *p == ':')
			p++;
		const char *e = p;
		while (*e && *e != ' ' && *e != ':')
			e++;
		if (e == p)
			break;
		size_t len = (size_t)(e - p);
		const char *base = p;
		for (const char *q = p; q < e; q++)
			if (*q == '/')
				base = q + 1;
		int mine = (size_t)(e - base) == strlen(me) && strncmp(base, me, (size_t)(e - base)) == 0;
		if (!mine && n + len + 2 < sizeof(out)) {
			if (n)
				out[n++] = ':';
			memcpy(out + n, p, len);
			n += len;
			out[n] = 0;
		}
		p = e;
	}
	if (n)
		setenv("LD_PRELOAD", out, 1);
	else
		unsetenv("LD_PRELOAD");
}

/* ------------------------------------------------------------ constructor, destructor */

__attribute__((constructor)) static void runtime_ctor(void)
{
#ifdef AUDIOPROF_TESTING
	/* The engine linked into the unit tests: no runtime of its own (it would profile
	 * the test binary, write a profile into the working directory and run threads
	 * that share the tables the tests drive). */
	return;
#endif
	int saved_errno = errno;
	if (runtime_state == RUNTIME_NONE)
		runtime_start();
	if (runtime_state != RUNTIME_EARLY) {
		unsetenv(options_table[OPT_EXEC_CHAIN].name);   /* not profiling: still ours */
		errno = saved_errno;
		return;
	}
	runtime_guard++;
	if (!real_sigaction)
		real_sigaction = dlsym(RTLD_NEXT, "sigaction");
	if (!getcwd(cwd0, sizeof(cwd0)))
		cwd0[0] = 0;
	/* Were we exec'd by a profiled image of this same process? */
	find_my_name();
	take_exec_chain();
	compute_out_path();
	if (!OPT_NUM(OPT_FOLLOW_EXEC))
		drop_preload_from_env();
	thread_map_size = (64 + stacks_cache_size(runtime_depth) + 4095) & ~(size_t)4095;
	cache_table_size = (stacks_cache_table_size(runtime_depth) + 4095) & ~(size_t)4095;
	cpuprof_init();   /* before the main thread's timer is made just below */
	/* The main thread's stack, now that it holds no lock of the program's (a
	 * library that dlopens us on another thread leaves that thread without one:
	 * its stacks are then unwound every time, never cached). */
	if ((pid_t)syscall(SYS_gettid) == getpid())
		runtime_thread_start();
	pthread_key_create(&thread_key, thread_exit);
	stacks_cache_on = OPT_NUM(OPT_STACK_CACHE) != 0;
	fds_init();   /* before the first call into libunwind, libdw, libelf, jansson */
	atomicfile_set_fd_hook(fds_adopt);   /* profile and symbol-cache files: above the floor */
	stacks_global_init();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	/* jansson seeds its hash function from /dev/urandom at its first object: here, not
	 * in the writer, so that no fork can find that file open (children inherit the seed). */
	json_object_seed(0);
	install_signals();
	audio_init();
	timeline_init((uint64_t)OPT_NUM(OPT_SAMPLE), start_ns);
	__atomic_store_n(&runtime_state, RUNTIME_READY, __ATOMIC_RELEASE);
	/* The main thread's state, as a new thread's (runtime_thread_start). */
	if (stack_hi && !runtime_self && !runtime_prepared)
		runtime_prepared = thread_make();
	start_writer();
	runtime_guard--;
	errno = saved_errno;
}

__attribute__((destructor)) static void runtime_dtor(void)
{
	if (runtime_state != RUNTIME_READY && runtime_state != RUNTIME_EARLY)
		return;
	if (getpid() != my_pid)
		return;
	runtime_guard++;
	__atomic_store_n(&presym_stop, 1, __ATOMIC_RELAXED);
	timeline_stop();
	audio_writer_tick();   /* warnings of the last moments before exit */
	/* exit() may come from a callback: the exit profile still names every frame */
	dwlib_last_write(1);
	pthread_mutex_lock(&write_lock);
	write_locked("exit", 0);
	finished = 1;
	pthread_mutex_unlock(&write_lock);
	runtime_guard--;
}
