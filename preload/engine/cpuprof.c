/* cpuprof.c - CPU samples of real-time code: one CPU-time timer per thread, a signal
 * handler that walks the interrupted stack, and a lock-free table of stacks -> counts
 * that the profile writer reads (cpuprof.h).
 *
 * Why the timer runs on every thread that ever ran real-time code, instead of being
 * armed at each callback's start and disarmed at its end: arming is a timer_settime
 * syscall, two per callback on the audio thread, which the profiler promises never to
 * add. A timer that keeps running costs one signal per 1/rate seconds of the thread's
 * CPU time whatever it runs; the handler drops a sample taken outside real-time code
 * after two TLS loads and counts it ("outside_rt"). `make bench` measures both costs.
 *
 * The signal: SIGRTMAX - 3, a real-time signal (queued, never merged with a program's
 * standard signal) that glibc, libjack, PipeWire and PortAudio do not use. A program
 * that takes it anyway still gets it: sigaction and signal report and set its own
 * disposition (cpuprof_sigaction), and every instance that is not one of our timer's
 * (si_code SI_TIMER with our cookie) is handed to the program's handler, or gets the
 * default action. SA_RESTART: a read, write or futex wait the signal interrupts is
 * restarted as if nothing happened. Calls that the kernel never restarts after a
 * handler (poll, nanosleep, epoll_wait, ...) are not interrupted at all: on x86-64
 * since Linux 5.11 (POSIX_CPU_TIMERS_TASK_WORK) a CPU-time timer that expires while
 * the thread is in the kernel is handled on its return to user space, after the call
 * returned (t_cpuprof.sh, "cpusig sleepy", checks it).
 *
 * The handler: no lock, no allocation, no syscall. It reads the thread's real-time
 * state (audio.h), walks with unwind_walk (lock-free, reentrant even when it
 * interrupted a walk of the same thread), and counts the stack in the table with
 * atomic operations; a sample that lands in the profiler's own code (runtime_guard held)
 * is recorded like any other and counted as "in_profiler" too. */
#include "cpuprof.h"
#include "audio.h"
#include "clock.h"
#include "forkmem.h"
#include "jsonput.h"
#include "profile_schema.h"
#include "log.h"
#include "mem.h"
#include "options.h"
#include "stacks.h"
#include "unwind.h"

#include <dlfcn.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define CP_SLOTS   32768u       /* distinct (source, stack) pairs; power of two */
#define CP_PROBES  64u          /* slots looked at before a sample counts as lost */
#define CP_SOURCES 256          /* sources counted apart; others share the last row */
#define CP_MAX_DEPTH 64u        /* frames per sample */

__thread int cpuprof_tstate TLS_IE;
static __thread int my_timer TLS_IE;      /* the kernel's timer id (when tstate > 0) */

static int mode = CPUPROF_OFF;
static int the_signal;                    /* 0: sampling is off */
static int64_t rate_hz;
static unsigned depth;                    /* frames per sample */
static char cookie;                       /* its address tells our timer's signals apart */
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

/* ------------------------------------------------------------ the table */

struct slot {
	uint64_t key;                     /* 0 empty, 1 being filled, else hash | 2 */
	int32_t src;                      /* source id, -1: none (mode all, or no room) */
	uint32_t n;                       /* frames */
	uint64_t count;
	uintptr_t ips[];                  /* n frames, innermost (the interrupted pc) first */
};

static char *table;                       /* CP_SLOTS slots of slot_size bytes */
static uint64_t used[CP_SLOTS / 64];      /* bit i: slot i was claimed (the writer reads
                                           * only those: the table is 17 MB of mostly
                                           * untouched pages, and reading them all costs
                                           * a page fault each, at every exit) */
static size_t slot_size;
static struct { uint64_t samples, in_profiler; } per_src[CP_SOURCES + 1]; /* +1: src -1 */
static uint64_t n_outside, n_lost, n_overruns, n_truncated, n_threads;
static uint64_t handler_ticks;            /* time spent in the handler (clock.h ticks) */

static inline struct slot *slot_at(unsigned i)
{
	return (struct slot *)(table + (size_t)i * slot_size);
}

static uint64_t hash_stack(int src, const uintptr_t *ips, unsigned n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)(uint32_t)src ^ ((uint64_t)n << 40);
	for (unsigned i = 0; i < n; i++)
		h = (h ^ ips[i]) * 0x100000001b3ull;
	return h | 2;
}

/* Count one sample of (src, ips). Lock-free: a slot is claimed by a compare-and-swap
 * and published by a release store of its key; a slot being filled by another thread
 * is passed over (the same stack may then get two slots: the writer merges them). */
static void record(int src, const uintptr_t *ips, unsigned n)
{
	uint64_t h = hash_stack(src, ips, n);
	unsigned i = (unsigned)(h >> 17) & (CP_SLOTS - 1);
	for (unsigned p = 0; p < CP_PROBES; p++, i = (i + 1) & (CP_SLOTS - 1)) {
		struct slot *s = slot_at(i);
		uint64_t k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
		if (k == h && s->src == src && s->n == n &&
		    memcmp(s->ips, ips, n * sizeof(*ips)) == 0) {
			__atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
			return;
		}
		if (k != 0)
			continue;
		if (!__atomic_compare_exchange_n(&s->key, &k, 1, 0, __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED))
			continue;
		s->src = src;
		s->n = n;
		memcpy(s->ips, ips, n * sizeof(*ips));
		s->count = 1;
		__atomic_store_n(&s->key, h, __ATOMIC_RELEASE);
		__atomic_fetch_or(&used[i / 64], 1ull << (i % 64), __ATOMIC_RELEASE);
		return;
	}
	__atomic_add_fetch(&n_lost, 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ the handler */

/* What the program set for our signal (cpuprof_sigaction); SIG_DFL until it sets one. */
static struct sigaction prog_act;
static pthread_mutex_t prog_lock = PTHREAD_MUTEX_INITIALIZER;   /* sigaction calls */

/* An instance of the signal that is not our timer's: the program's, as natively. */
static void forward(int sig, siginfo_t *si, void *uc)
{
	struct sigaction a = prog_act;   /* a racy copy: what was set last */
	void *fn = a.sa_flags & SA_SIGINFO ? (void *)a.sa_sigaction : (void *)a.sa_handler;
	if (fn == (void *)SIG_IGN)
		return;
	if (fn == (void *)SIG_DFL) {
		/* An unhandled real-time signal terminates the process: do that. */
		struct sigaction d;
		memset(&d, 0, sizeof(d));
		d.sa_handler = SIG_DFL;
		real_sigaction(sig, &d, NULL);
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, sig);
		pthread_sigmask(SIG_UNBLOCK, &s, NULL);
		raise(sig);
		return;
	}
	if (a.sa_flags & SA_RESETHAND)
		prog_act.sa_handler = SIG_DFL, prog_act.sa_flags &= ~SA_SIGINFO;
	/* As sig_trampoline (runtime.c) does for the program's other handlers. */
	int guard = runtime_guard, interrupted = runtime_sig_interrupted;
	if (guard) {
		runtime_sig_interrupted = 1;
		runtime_guard = 0;
	}
	((void (*)(int, siginfo_t *, void *))fn)(sig, si, uc);
	runtime_guard = guard;
	runtime_sig_interrupted = interrupted;
}

static void sample(const ucontext_t *uc)
{
	struct rt_tls *t = &ap_rt;
	int src = -1;
	if (t->depth > 0 && !t->never_rt)
		src = audio_current_source_id();
	else if (mode != CPUPROF_ALL) {
		__atomic_add_fetch(&n_outside, 1, __ATOMIC_RELAXED);
		return;
	}
	int row = src >= 0 && src < CP_SOURCES ? src : CP_SOURCES;
	if (src >= CP_SOURCES)
		src = -1;
	uintptr_t ips[CP_MAX_DEPTH];
	unsigned n = 0;
	struct unwind_start st = {
		.ra = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP],
		.sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP],
		.fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP],
		.may_lock = 0,
		.exact = 1,
	};
	runtime_stack_bounds(&st.lo, &st.hi);
	struct unwind_shapes *shapes = runtime_thread_shapes();
	if (unwind_walk(shapes, &st, ips, NULL, depth, &n) != UNWIND_DONE)
		__atomic_add_fetch(&n_truncated, 1, __ATOMIC_RELAXED);
	if (n == 0) {
		ips[0] = st.ra;
		n = 1;
	}
	__atomic_add_fetch(&per_src[row].samples, 1, __ATOMIC_RELAXED);
	if (src >= 0)
		t->cyc.samples++;   /* the cycle's own count (its slow-cycle record) */
	if (runtime_guard)
		__atomic_add_fetch(&per_src[row].in_profiler, 1, __ATOMIC_RELAXED);
	record(src, ips, n);
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	if (si->si_code != SI_TIMER || si->si_value.sival_ptr != &cookie) {
		forward(sig, si, uc);
		return;
	}
	int e = errno;
	uint64_t t0 = clock_ticks();
	if (si->si_overrun > 0)
		__atomic_add_fetch(&n_overruns, (uint64_t)si->si_overrun, __ATOMIC_RELAXED);
	sample(uc);
	__atomic_add_fetch(&handler_ticks, clock_ticks() - t0, __ATOMIC_RELAXED);
	errno = e;
}

int cpuprof_signal(void)
{
	return the_signal;
}

int cpuprof_sigaction(const struct sigaction *act, struct sigaction *oldact)
{
	pthread_mutex_lock(&prog_lock);
	struct sigaction old = prog_act;
	if (act)
		prog_act = *act;
	pthread_mutex_unlock(&prog_lock);
	if (oldact)
		*oldact = old;
	return 0;
}

/* ------------------------------------------------------------ timers */

void cpuprof_init(void)
{
	mode = (int)OPT_NUM(OPT_CPU);
	if (mode == CPUPROF_OFF)
		return;
	rate_hz = OPT_NUM(OPT_CPU_RATE);
	depth = runtime_depth < CP_MAX_DEPTH ? runtime_depth : CP_MAX_DEPTH;
	slot_size = (sizeof(struct slot) + depth * sizeof(uintptr_t) + 15) & ~(size_t)15;
	/* A child starts its samples afresh (cpuprof_after_fork): nothing to copy. */
	void *m = forkmem_map_wiped(CP_SLOTS * slot_size);
	real_sigaction = dlsym(RTLD_NEXT, "sigaction");
	if (!m || !real_sigaction) {
		log_msg("cannot set up CPU sampling; AUDIOPROF_CPU=off");
		mode = CPUPROF_OFF;
		return;
	}
	table = m;
	int sig = SIGRTMAX - 3;
	struct sigaction cur, sa;
	real_sigaction(sig, NULL, &cur);
	if (cur.sa_handler != SIG_DFL)   /* set before us (a preload before ours) */
		prog_act = cur;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);   /* nothing interrupts a walk; it takes microseconds */
	if (real_sigaction(sig, &sa, NULL) != 0) {
		log_msg("cannot install the CPU sampler's signal handler; AUDIOPROF_CPU=off");
		mode = CPUPROF_OFF;
		return;
	}
	the_signal = sig;
}

static int timer_make(void)
{
	clockid_t clk;
	if (pthread_getcpuclockid(pthread_self(), &clk) != 0)
		return -1;
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = the_signal;
	ev.sigev_value.sival_ptr = &cookie;
	ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	int id;
	if (syscall(SYS_timer_create, clk, &ev, &id) != 0)
		return -1;
	my_timer = id;
	cpuprof_tstate = 1;
	return 0;
}

/* Start timer `id` ticking (a syscall; never on an audio thread). */
static int arm_timer(int id)
{
	int e = errno;
	long ns = (long)(1000000000LL / rate_hz);
	struct itimerspec its = { { ns / 1000000000L, ns % 1000000000L },
				  { ns / 1000000000L, ns % 1000000000L } };
	int r = (int)syscall(SYS_timer_settime, id, 0, &its, NULL);
	if (r == 0)
		__atomic_add_fetch(&n_threads, 1, __ATOMIC_RELAXED);
	errno = e;
	return r;
}

/* Timers to start: a thread that enters real-time code for the first time puts its
 * timer's id here (plain atomic stores), and the writer thread starts them
 * (cpuprof_writer_tick, every CPUPROF_ARM_NS at most): so the audio thread makes no
 * syscall for it, and its samples begin within that time of its first callback. A
 * thread that exits first has deleted its timer: starting it then fails, harmlessly. */
#define ARM_SLOTS 256
static int arm_req[ARM_SLOTS];   /* timer id + 1; 0: empty */

void cpuprof_arm(void)
{
	if (cpuprof_tstate != 1 || !the_signal)
		return;
	cpuprof_tstate = 2;
	for (unsigned i = 0; i < ARM_SLOTS; i++) {
		int zero = 0;
		if (__atomic_compare_exchange_n(&arm_req[i], &zero, my_timer + 1, 0,
						__ATOMIC_RELEASE, __ATOMIC_RELAXED))
			return;
	}
	cpuprof_tstate = 3;   /* no room (256 threads entering at once): not sampled */
}

void cpuprof_writer_tick(void)
{
	for (unsigned i = 0; i < ARM_SLOTS; i++) {
		if (!__atomic_load_n(&arm_req[i], __ATOMIC_RELAXED))
			continue;
		int v = __atomic_exchange_n(&arm_req[i], 0, __ATOMIC_ACQUIRE);
		if (v)
			arm_timer(v - 1);
	}
}

void cpuprof_thread_start(void)
{
	if (!the_signal || cpuprof_tstate)
		return;
	int e = errno;
	if (timer_make() == 0 && mode == CPUPROF_ALL && arm_timer(my_timer) == 0)
		cpuprof_tstate = 2;   /* every thread, from its start: no audio thread yet */
	errno = e;
}

void cpuprof_thread_exit(void)
{
	if (cpuprof_tstate > 0) {
		int e = errno;
		syscall(SYS_timer_delete, my_timer);
		cpuprof_tstate = 0;
		errno = e;
	}
}

void cpuprof_after_fork(void)
{
	if (!the_signal)
		return;
	/* Dropped, not cleared: a child touches no page of the table it does not use. */
	madvise(table, CP_SLOTS * slot_size, MADV_DONTNEED);
	memset(used, 0, sizeof(used));
	memset(per_src, 0, sizeof(per_src));
	n_outside = n_lost = n_overruns = n_truncated = n_threads = handler_ticks = 0;
	int was = cpuprof_tstate;
	cpuprof_tstate = 0;
	memset(arm_req, 0, sizeof(arm_req));   /* the parent's threads are gone */
	if (was > 0 && timer_make() == 0 && was == 2 && arm_timer(my_timer) == 0)
		cpuprof_tstate = 2;
}

/* ------------------------------------------------------------ output */

/* Writing, from the schema (PROFILE_CPU* in common/profile_schema.h): a field is its
 * line there and its value line here. */

/* A callback's samples (PROFILE_CPU_CALLBACK). */
#define CCV_callback    (int64_t)(i < CP_SOURCES ? i : -1)
#define CCV_samples     n
#define CCV_in_profiler __atomic_load_n(&per_src[i].in_profiler, __ATOMIC_RELAXED)
/* A stack (PROFILE_CPU_STACK). */
#define CSV_callback    (int64_t)s->src
#define CSV_count       c
#define CSV_fs          f
/* The object (PROFILE_CPU). */
#define CPV_mode        (mode == CPUPROF_ALL ? "all" : "rt")
#define CPV_rate_hz     (uint64_t)rate_hz
#define CPV_signal      (uint64_t)the_signal
#define CPV_threads     __atomic_load_n(&n_threads, __ATOMIC_RELAXED)
#define CPV_samples     total
#define CPV_outside_rt  __atomic_load_n(&n_outside, __ATOMIC_RELAXED)
#define CPV_lost        __atomic_load_n(&n_lost, __ATOMIC_RELAXED)
#define CPV_overruns    __atomic_load_n(&n_overruns, __ATOMIC_RELAXED)
#define CPV_truncated   __atomic_load_n(&n_truncated, __ATOMIC_RELAXED)
#define CPV_handler_ns  clock_span_ns(__atomic_load_n(&handler_ticks, __ATOMIC_RELAXED))
#define CPV_callbacks   srcs
#define CPV_stacks      stacks

int cpuprof_on(void)
{
	return the_signal != 0;
}

json_t *cpuprof_object(cpuprof_fs_fn fs, void *arg)
{
	json_t *o = json_object(), *srcs = json_array(), *stacks = json_array();
	if (!o || !srcs || !stacks) {
		json_decref(o);
		json_decref(srcs);
		json_decref(stacks);
		return NULL;
	}
	int err = 0;
	uint64_t total = 0;
	for (int i = 0; i <= CP_SOURCES; i++) {
		uint64_t n = __atomic_load_n(&per_src[i].samples, __ATOMIC_RELAXED);
		if (!n)
			continue;
		json_t *e = json_object();
		err |= !e;
#define CC_PUT(key, type, unit, presence, what) err |= e && put_##type(e, #key, CCV_##key) < 0;
		PROFILE_CPU_CALLBACK(CC_PUT)
#undef CC_PUT
		err |= e && json_array_append_new(srcs, e) < 0;
	}
	for (unsigned w = 0; w < CP_SLOTS / 64; w++) {
		uint64_t bits = __atomic_load_n(&used[w], __ATOMIC_ACQUIRE);
		for (; bits; bits &= bits - 1) {
			struct slot *s = slot_at(w * 64 + (unsigned)__builtin_ctzll(bits));
			if (__atomic_load_n(&s->key, __ATOMIC_ACQUIRE) < 2)
				continue;
			uint64_t c = __atomic_load_n(&s->count, __ATOMIC_RELAXED);
			json_t *e = json_object(), *f = fs(s->ips, s->n, arg);
			if (!e || !f) {
				json_decref(e);
				json_decref(f);
				err = 1;
				continue;
			}
			total += c;
#define CS_PUT(key, type, unit, presence, what) err |= put_##type(e, #key, CSV_##key) < 0;
			PROFILE_CPU_STACK(CS_PUT)
#undef CS_PUT
			err |= json_array_append_new(stacks, e) < 0;
		}
	}
#define CP_PUT(key, type, unit, presence, what) err |= put_##type(o, #key, CPV_##key) < 0;
	PROFILE_CPU(CP_PUT)
#undef CP_PUT
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

#ifdef AUDIOPROF_TESTING
int cpuprof_testing_table(unsigned frames)
{
	if (!table) {
		depth = frames < CP_MAX_DEPTH ? frames : CP_MAX_DEPTH;
		slot_size = (sizeof(struct slot) + depth * sizeof(uintptr_t) + 15) & ~(size_t)15;
		void *m = mmap(NULL, CP_SLOTS * slot_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED)
			return -1;
		table = m;
	}
	madvise(table, CP_SLOTS * slot_size, MADV_DONTNEED);
	memset(used, 0, sizeof(used));
	memset(per_src, 0, sizeof(per_src));
	n_outside = n_lost = n_overruns = n_truncated = n_threads = handler_ticks = 0;
	mode = CPUPROF_RT;
	rate_hz = 1000;
	the_signal = SIGRTMAX - 3;   /* for cpuprof_object; no handler is installed */
	return 0;
}

void cpuprof_testing_record(int src, const uintptr_t *ips, unsigned n)
{
	int row = src >= 0 && src < CP_SOURCES ? src : CP_SOURCES;
	__atomic_add_fetch(&per_src[row].samples, 1, __ATOMIC_RELAXED);
	record(src, ips, n < depth ? n : depth);
}

unsigned cpuprof_testing_slots(void)
{
	return CP_SLOTS;
}
#endif

size_t cpuprof_footprint(void)
{
	return table ? mem_resident(table, CP_SLOTS * slot_size) : 0;
}
