/* libcbcount.c - the matrix tests' own counting wrapper (t_real_jack_apps.sh): an
 * LD_PRELOAD module, listed BEFORE libaudioprof.so, that counts what a real program's
 * JACK process callback really does, independently of the profiler.
 *
 * It interposes jack_set_process_callback (pa_stream_set_write_callback and
 * pw_stream_add_listener's process event alike) and registers a trampoline of its own, so the
 * chain is jack -> the profiler's trampoline -> ours -> the program's callback: "inside
 * the callback" here means inside the program's own function, nothing of the profiler.
 * For ALSA it does not decide what a cycle is: it logs, in order, each call the
 * program makes to the PCM functions the profiler wraps (snd_pcm_open, close, nonblock,
 * hw_params with the period, rate and buffer granted, the writes, reads and mmap
 * commits with the frames asked, wait, revents, avail, avail_update, status with the
 * room reported, drain, drop, and poll/ppoll (and their _chk forms) returning ready on
 * a thread that used a PCM, logged as "poll"), and, between them, every counted call
 * below with its caller; calls made inside a logged PCM function (libasound's own) are
 * left out, as the profiler records those apart. cbcount.py replays that log by the
 * documented cycle model (libaudioprof(7), "ALSA") to get the cycles, the discarded
 * ones, the deadline and the calls each cycle charges. This works only without the profiler (whose wrappers
 * call libasound directly, not through this one).
 * On that thread, while the callback runs, it counts the calls to the allocation
 * functions, free (of a non-NULL pointer) and pthread_mutex_lock, each by the file of its
 * immediate caller (dladdr of the return address): a call whose caller is the profiler
 * (libaudioprof.so, when it calls these through its PLT) is counted apart as "own".
 * The profiler's wrappers of pthread_mutex_lock and fread call the real function (here,
 * this one) from inside themselves to time it when the call is made in real-time code:
 * for these two, a return address inside libaudioprof.so is passed over, to the
 * caller of the profiler's frame (its code keeps frame pointers, and its wrapper
 * tail-called that frame), so that the call is the program's as before. (The
 * profiler's own locks on a real-time thread, which this would hide, are counted by
 * t_rt_nolock.sh.)
 * At exit it writes to $CBCOUNT_OUT one line per counter:
 *     callbacks N frames F      (JACK process callbacks, frames they were asked for)
 *     pa_writes N bytes B       (PulseAudio stream write callbacks, bytes asked)
 *     alsa_writes N frames F    (snd_pcm_writei calls, frames written)
 *     pw_process N              (PipeWire stream process events, pw_stream_add_listener)
 *     CALL CALLER-FILE N        (CALL: malloc calloc realloc free memalign
 *                                posix_memalign aligned_alloc pthread_mutex_lock fread)
 *     ev SEQ THREAD call CALL CALLER-FILE           (ALSA log: a counted call)
 *     ev SEQ THREAD pcm FUNCTION PCM ARG RESULT X Y (ALSA log: a PCM call, at its return;
 *         ARG: frames asked, open's mode, nonblock's flag; X Y: hw_params' period and
 *         rate (its buffer in ARG), status's avail, revents' events)
 *     ev_lost N                  (log entries that did not fit)
 * Built with CBCOUNT_CALLBACKS_ONLY (libcbfirst.so) it defines no libc or ALSA name
 * and counts only the callbacks: that one goes BEFORE libaudioprof.so, so that it sees the calls of
 * a plugin that loaded libjack RTLD_LOCAL, which the profiler answers from libjack
 * directly (csound's rtjack, ALSA's jack PCM).
 * It never writes to the program's stdout or stderr and changes nothing it does.
 * Counters and the log are fixed arrays updated with atomics: no allocation, lock or
 * syscall on the audio thread (dladdr runs at exit only; dlsym once per function). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*process_fn)(uint32_t nframes, void *arg);

enum { C_MALLOC, C_CALLOC, C_REALLOC, C_FREE, C_MEMALIGN, C_POSIX_MEMALIGN, C_ALIGNED_ALLOC,
       C_LOCK, C_FREAD, NCALLS };
static const char *const call_names[NCALLS] = {
	"malloc", "calloc", "realloc", "free", "memalign", "posix_memalign", "aligned_alloc",
	"pthread_mutex_lock", "fread",
};

#define NSITES 512
struct site {
	void *ret;           /* return address of the call (0: free slot) */
	int call;
	unsigned long count;            /* in callbacks */
};
static struct site sites[NSITES];
static unsigned long lost;               /* calls that found no free slot */

#define NCB 16
struct cb {
	process_fn fn;
	void *arg;
};
static struct cb cbs[NCB];
static unsigned long ncallbacks, nframes_total;
static __thread int in_cb;
#ifndef CBCOUNT_CALLBACKS_ONLY
/* ALSA: the log (see the top comment). Entries are claimed with an atomic index. */
enum { EV_CALL = 1, EV_PCM };
struct ev {
	uint8_t type, what;              /* EV_CALL: the call; EV_PCM: the function */
	uint16_t thread;                 /* small per-thread number, from 1 */
	void *p;                         /* EV_CALL: return address; EV_PCM: the PCM */
	long arg, res, x, y;
};
#define NEV 65536
static struct ev evs[NEV];
static unsigned long nev;
static int alsa_on;                      /* a PCM was opened: log from now on */
static unsigned nthreads;
static __thread unsigned my_thread;
static __thread int in_pcm;              /* inside a logged PCM function (libasound's calls) */
static __thread int pcm_thread;          /* this thread called a PCM function */

static struct ev *ev_new(int type, int what, void *p)
{
	unsigned long i = __atomic_fetch_add(&nev, 1, __ATOMIC_RELAXED);
	if (i >= NEV)
		return NULL;
	if (!my_thread)
		my_thread = __atomic_add_fetch(&nthreads, 1, __ATOMIC_RELAXED);
	struct ev *e = &evs[i];
	e->thread = (uint16_t)my_thread;
	e->what = (uint8_t)what;
	e->p = p;
	__atomic_store_n(&e->type, (uint8_t)type, __ATOMIC_RELEASE);
	return e;
}
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static void *(*real_memalign)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static int (*real_lock)(pthread_mutex_t *);

/* dlsym may calloc (dlerror's buffer) before real_calloc is known. */
static char boot[4096];
static size_t boot_used;

static void resolve(void)
{
	if (real_free)
		return;
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
	real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
	real_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
}

static void count(int call, void *ret)
{
	size_t h = ((uintptr_t)ret * 0x9E3779B97F4A7C15ull >> 40) % NSITES;

	for (size_t i = 0; i < NSITES; i++) {
		struct site *s = &sites[(h + i) % NSITES];
		void *cur = __atomic_load_n(&s->ret, __ATOMIC_ACQUIRE);
		if (!cur) {
			void *want = NULL;
			if (!__atomic_compare_exchange_n(&s->ret, &want, ret, 0, __ATOMIC_ACQ_REL,
			                                 __ATOMIC_ACQUIRE))
				cur = want;
			else
				cur = ret;
			if (cur == ret)
				s->call = call;
		}
		if (cur == ret) {
			__atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
			return;
		}
	}
	__atomic_add_fetch(&lost, 1, __ATOMIC_RELAXED);
}

/* The profiler's code, [through_lo, through_hi): the executable segment of the object
 * that defines the pthread_mutex_lock found first (libaudioprof.so, when it is
 * preloaded before this one), found at load; empty without the profiler. */
static uintptr_t through_lo, through_hi;

static int find_segment(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	if ((uintptr_t)info->dlpi_addr != (uintptr_t)arg)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			through_lo = info->dlpi_addr + ph->p_vaddr;
			through_hi = through_lo + ph->p_memsz;
		}
	}
	return 1;
}

__attribute__((constructor)) static void find_through(void)
{
	void *p = dlsym(RTLD_DEFAULT, "pthread_mutex_lock");
	Dl_info di;
	if (p && dladdr(p, &di) && di.dli_fname && strstr(di.dli_fname, "libaudioprof"))
		dl_iterate_phdr(find_segment, di.dli_fbase);
}

/* The caller of the function this is expanded in: its return address, or, for a lock
 * or fread whose return address is the profiler's, the return address of the
 * profiler's frame (the saved frame pointer's return slot). */
#define CALLER_OF(call) __extension__ ({ \
		uintptr_t r_ = (uintptr_t)__builtin_return_address(0); \
		if (((call) == C_LOCK || (call) == C_FREAD) && \
		    r_ - through_lo < through_hi - through_lo) \
			r_ = ((uintptr_t *)((uintptr_t *)__builtin_frame_address(0))[0])[1]; \
		(void *)r_; \
	})

#define COUNT(call) do { \
		if (in_cb) \
			count(call, CALLER_OF(call)); \
		else if (__atomic_load_n(&alsa_on, __ATOMIC_RELAXED) && !in_pcm) \
			ev_new(EV_CALL, call, CALLER_OF(call)); \
	} while (0)

void *malloc(size_t n)
{
	resolve();
	COUNT(C_MALLOC);
	return real_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (!real_calloc) {
		if (real_free || boot_used + a * b > sizeof boot) {
			resolve();
		} else {
			void *p = boot + boot_used;
			boot_used += (a * b + 15) & ~(size_t)15;
			return p;
		}
	}
	COUNT(C_CALLOC);
	return real_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	resolve();
	COUNT(C_REALLOC);
	return real_realloc(p, n);
}

void free(void *p)
{
	if ((char *)p >= boot && (char *)p < boot + sizeof boot)
		return;
	resolve();
	if (p)
		COUNT(C_FREE);
	real_free(p);
}

void *memalign(size_t a, size_t n)
{
	resolve();
	COUNT(C_MEMALIGN);
	return real_memalign(a, n);
}

int posix_memalign(void **pp, size_t a, size_t n)
{
	resolve();
	COUNT(C_POSIX_MEMALIGN);
	return real_posix_memalign(pp, a, n);
}

void *aligned_alloc(size_t a, size_t n)
{
	resolve();
	COUNT(C_ALIGNED_ALLOC);
	return real_aligned_alloc(a, n);
}

size_t fread(void *buf, size_t size, size_t n, FILE *f)
{
	static size_t (*real)(void *, size_t, size_t, FILE *);
	if (!real)
		real = (size_t (*)(void *, size_t, size_t, FILE *))dlsym(RTLD_NEXT, "fread");
	COUNT(C_FREAD);
	return real(buf, size, n, f);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	resolve();
	COUNT(C_LOCK);
	return real_lock(m);
}

#endif /* CBCOUNT_CALLBACKS_ONLY */

/* ------------------------------------------------------------------ JACK */

#define TRAMP(i) \
	static int tramp##i(uint32_t n, void *arg) \
	{ \
		(void)arg; \
		__atomic_add_fetch(&ncallbacks, 1, __ATOMIC_RELAXED); \
		__atomic_add_fetch(&nframes_total, n, __ATOMIC_RELAXED); \
		in_cb++; \
		int rc = cbs[i].fn(n, cbs[i].arg); \
		in_cb--; \
		return rc; \
	}
TRAMP(0) TRAMP(1) TRAMP(2) TRAMP(3) TRAMP(4) TRAMP(5) TRAMP(6) TRAMP(7)
TRAMP(8) TRAMP(9) TRAMP(10) TRAMP(11) TRAMP(12) TRAMP(13) TRAMP(14) TRAMP(15)
static process_fn const tramps[NCB] = {
	tramp0, tramp1, tramp2, tramp3, tramp4, tramp5, tramp6, tramp7,
	tramp8, tramp9, tramp10, tramp11, tramp12, tramp13, tramp14, tramp15,
};
static int ncbs;

int jack_set_process_callback(void *client, process_fn fn, void *arg)
{
	int (*real)(void *, process_fn, void *) =
		(int (*)(void *, process_fn, void *))dlsym(RTLD_NEXT, "jack_set_process_callback");
	if (!real) {
		void *h = dlopen("libjack.so.0", RTLD_LAZY | RTLD_NOLOAD);
		if (h)
			real = (int (*)(void *, process_fn, void *))dlsym(h, "jack_set_process_callback");
	}
	if (!real)
		return -1;
	if (!fn || ncbs >= NCB)
		return real(client, fn, arg);
	cbs[ncbs].fn = fn;
	cbs[ncbs].arg = arg;
	return real(client, tramps[ncbs++], arg);
}

/* ------------------------------------------------------------------ PulseAudio */

typedef void (*pa_write_fn)(void *stream, size_t nbytes, void *arg);
static struct { pa_write_fn fn; void *arg; } pacbs[NCB];
static unsigned long npa, npa_bytes;
static int npacbs;

#define PATRAMP(i) \
	static void patramp##i(void *st, size_t n, void *arg) \
	{ \
		(void)arg; \
		__atomic_add_fetch(&npa, 1, __ATOMIC_RELAXED); \
		__atomic_add_fetch(&npa_bytes, n, __ATOMIC_RELAXED); \
		in_cb++; \
		pacbs[i].fn(st, n, pacbs[i].arg); \
		in_cb--; \
	}
PATRAMP(0) PATRAMP(1) PATRAMP(2) PATRAMP(3)
static pa_write_fn const patramps[4] = { patramp0, patramp1, patramp2, patramp3 };

void pa_stream_set_write_callback(void *st, pa_write_fn fn, void *arg)
{
	void (*real)(void *, pa_write_fn, void *) =
		(void (*)(void *, pa_write_fn, void *))dlsym(RTLD_NEXT, "pa_stream_set_write_callback");
	if (!real) {
		void *h = dlopen("libpulse.so.0", RTLD_LAZY | RTLD_NOLOAD);
		if (h)
			real = (void (*)(void *, pa_write_fn, void *))dlsym(h, "pa_stream_set_write_callback");
	}
	if (!real)
		return;
	if (!fn || npacbs >= 4) {
		real(st, fn, arg);
		return;
	}
	pacbs[npacbs].fn = fn;
	pacbs[npacbs].arg = arg;
	real(st, patramps[npacbs++], arg);
}

/* ------------------------------------------------------------------ PipeWire */

/* struct pw_stream_events (pipewire/stream.h): a version, then destroy, state_changed,
 * control_info, io_changed, param_changed, add_buffer, remove_buffer, process, drained
 * (version 0), command (1), trigger_done (2). */
typedef void (*pw_fn)(void *data);
struct pw_events {
	uint32_t version;
	pw_fn fns[11];
};
#define PW_PROCESS 7
static struct pw_events pwev[4];
static void *pwdata[4];
static unsigned long npw;
static int npwev;

#define PWTRAMP(i) \
	static void pwtramp##i(void *data) \
	{ \
		(void)data; \
		__atomic_add_fetch(&npw, 1, __ATOMIC_RELAXED); \
		in_cb++; \
		userev[i]->fns[PW_PROCESS](pwdata[i]); \
		in_cb--; \
	}
static const struct pw_events *userev[4];
PWTRAMP(0) PWTRAMP(1) PWTRAMP(2) PWTRAMP(3)
static pw_fn const pwtramps[4] = { pwtramp0, pwtramp1, pwtramp2, pwtramp3 };

void pw_stream_add_listener(void *stream, void *hook, const struct pw_events *ev, void *data)
{
	void (*real)(void *, void *, const struct pw_events *, void *) =
		(void (*)(void *, void *, const struct pw_events *, void *))dlsym(RTLD_NEXT, "pw_stream_add_listener");
	if (!real)
		return;
	if (!ev || !ev->fns[PW_PROCESS] || npwev >= 4) {
		real(stream, hook, ev, data);
		return;
	}
	int i = npwev++;
	size_t n = 9 + (ev->version > 2 ? 2 : ev->version);
	pwev[i].version = ev->version;
	memcpy(pwev[i].fns, ev->fns, n * sizeof(pw_fn));
	pwev[i].fns[PW_PROCESS] = pwtramps[i];
	userev[i] = ev;
	pwdata[i] = data;
	real(stream, hook, &pwev[i], data);
}

/* ------------------------------------------------------------------ ALSA */

static unsigned long nwrites, nwrite_frames;
#ifndef CBCOUNT_CALLBACKS_ONLY

/* The PCM functions the profiler wraps (preload/entry/audio_alsa.c), and poll. */
enum { P_OPEN, P_CLOSE, P_NONBLOCK, P_HW_PARAMS, P_WRITEI, P_WRITEN, P_READI, P_READN,
       P_MMAP_WRITEI, P_MMAP_WRITEN, P_MMAP_READI, P_MMAP_READN, P_MMAP_BEGIN, P_MMAP_COMMIT,
       P_WAIT, P_AVAIL_UPDATE, P_AVAIL, P_STATUS, P_REVENTS, P_DRAIN, P_DROP,
       P_GET_PERIOD, P_GET_RATE, P_GET_BUFFER, P_STATUS_AVAIL, P_POLL, P_POLL_CHK, P_PPOLL,
       P_PPOLL_CHK,
       NPCM };
static const char *const pcm_names[NPCM] = {
	"snd_pcm_open", "snd_pcm_close", "snd_pcm_nonblock", "snd_pcm_hw_params",
	"snd_pcm_writei", "snd_pcm_writen", "snd_pcm_readi", "snd_pcm_readn",
	"snd_pcm_mmap_writei", "snd_pcm_mmap_writen", "snd_pcm_mmap_readi", "snd_pcm_mmap_readn",
	"snd_pcm_mmap_begin", "snd_pcm_mmap_commit", "snd_pcm_wait", "snd_pcm_avail_update",
	"snd_pcm_avail", "snd_pcm_status", "snd_pcm_poll_descriptors_revents", "snd_pcm_drain",
	"snd_pcm_drop", "snd_pcm_hw_params_get_period_size", "snd_pcm_hw_params_get_rate",
	"snd_pcm_hw_params_get_buffer_size", "snd_pcm_status_get_avail", "poll", "__poll_chk",
	"ppoll", "__ppoll_chk",
};
static void *pcm_fns[NPCM];

/* The real function; called with in_pcm raised (dlsym's own calls are not logged). */
static void *pcm_real(int i)
{
	void *f = __atomic_load_n(&pcm_fns[i], __ATOMIC_ACQUIRE);
	if (f)
		return f;
	f = dlsym(RTLD_NEXT, pcm_names[i]);
	if (!f && i < P_POLL) {
		void *h = dlopen("libasound.so.2", RTLD_LAZY | RTLD_NOLOAD);
		if (h)
			f = dlsym(h, pcm_names[i]);
	}
	__atomic_store_n(&pcm_fns[i], f, __ATOMIC_RELEASE);
	return f;
}

static void pcm_log(int i, void *pcm, long arg, long res, long x, long y)
{
	pcm_thread = 1;
	__atomic_store_n(&alsa_on, 1, __ATOMIC_RELAXED);
	struct ev *e = ev_new(EV_PCM, i, pcm);
	if (e) {
		e->arg = arg;
		e->res = res;
		e->x = x;
		e->y = y;
	}
}

#define REAL(i, ...) __typeof__(__VA_ARGS__) real = (__VA_ARGS__)pcm_real(i)
#define NOSYS (-38)   /* -ENOSYS */

#define IO_WRAP(fn, i, buftype) \
	long fn(void *pcm, buftype buf, unsigned long n) \
	{ \
		in_pcm++; \
		REAL(i, long (*)(void *, buftype, unsigned long)); \
		long r = real ? real(pcm, buf, n) : NOSYS; \
		if (!--in_pcm) { \
			pcm_log(i, pcm, (long)n, r, 0, 0); \
			if (i == P_WRITEI) { \
				__atomic_add_fetch(&nwrites, 1, __ATOMIC_RELAXED); \
				if (r > 0) \
					__atomic_add_fetch(&nwrite_frames, (unsigned long)r, __ATOMIC_RELAXED); \
			} \
		} \
		return r; \
	}
IO_WRAP(snd_pcm_writei, P_WRITEI, const void *)
IO_WRAP(snd_pcm_writen, P_WRITEN, void **)
IO_WRAP(snd_pcm_readi, P_READI, void *)
IO_WRAP(snd_pcm_readn, P_READN, void **)
IO_WRAP(snd_pcm_mmap_writei, P_MMAP_WRITEI, const void *)
IO_WRAP(snd_pcm_mmap_writen, P_MMAP_WRITEN, void **)
IO_WRAP(snd_pcm_mmap_readi, P_MMAP_READI, void *)
IO_WRAP(snd_pcm_mmap_readn, P_MMAP_READN, void **)
IO_WRAP(snd_pcm_mmap_commit, P_MMAP_COMMIT, unsigned long)

/* (pcm) -> long: avail, avail_update; (pcm) -> int: drain, drop, close. */
#define PLAIN_WRAP(rtype, fn, i) \
	rtype fn(void *pcm) \
	{ \
		in_pcm++; \
		REAL(i, rtype (*)(void *)); \
		rtype r = real ? real(pcm) : NOSYS; \
		if (!--in_pcm) \
			pcm_log(i, pcm, 0, (long)r, 0, 0); \
		return r; \
	}
PLAIN_WRAP(long, snd_pcm_avail_update, P_AVAIL_UPDATE)
PLAIN_WRAP(long, snd_pcm_avail, P_AVAIL)
PLAIN_WRAP(int, snd_pcm_drain, P_DRAIN)
PLAIN_WRAP(int, snd_pcm_drop, P_DROP)
PLAIN_WRAP(int, snd_pcm_close, P_CLOSE)

int snd_pcm_open(void **pcmp, const char *name, int stream, int mode)
{
	in_pcm++;
	REAL(P_OPEN, int (*)(void **, const char *, int, int));
	int r = real ? real(pcmp, name, stream, mode) : NOSYS;
	if (!--in_pcm)
		pcm_log(P_OPEN, r == 0 && pcmp ? *pcmp : NULL, mode, r, 0, 0);
	return r;
}

int snd_pcm_nonblock(void *pcm, int nonblock)
{
	in_pcm++;
	REAL(P_NONBLOCK, int (*)(void *, int));
	int r = real ? real(pcm, nonblock) : NOSYS;
	if (!--in_pcm)
		pcm_log(P_NONBLOCK, pcm, nonblock, r, 0, 0);
	return r;
}

/* Logs the buffer (ARG), period (X) and rate (Y) granted. */
int snd_pcm_hw_params(void *pcm, void *params)
{
	in_pcm++;
	REAL(P_HW_PARAMS, int (*)(void *, void *));
	int r = real ? real(pcm, params) : NOSYS;
	unsigned long period = 0, buffer = 0;
	unsigned rate = 0;
	int dir = 0;
	if (r == 0 && in_pcm == 1) {
		REAL(P_GET_PERIOD, int (*)(void *, unsigned long *, int *));
		void *get_rate = pcm_real(P_GET_RATE), *get_buffer = pcm_real(P_GET_BUFFER);
		if (real && get_rate && get_buffer &&
		    (real(params, &period, &dir) < 0 ||
		     ((int (*)(void *, unsigned *, int *))get_rate)(params, &rate, &dir) < 0 ||
		     ((int (*)(void *, unsigned long *))get_buffer)(params, &buffer) < 0))
			period = rate = buffer = 0;
	}
	if (!--in_pcm)
		pcm_log(P_HW_PARAMS, pcm, (long)buffer, r, (long)period, (long)rate);
	return r;
}

int snd_pcm_mmap_begin(void *pcm, void *areas, unsigned long *offset, unsigned long *frames)
{
	in_pcm++;
	REAL(P_MMAP_BEGIN, int (*)(void *, void *, unsigned long *, unsigned long *));
	int r = real ? real(pcm, areas, offset, frames) : NOSYS;
	if (!--in_pcm)
		pcm_log(P_MMAP_BEGIN, pcm, r >= 0 && frames ? (long)*frames : 0, r, 0, 0);
	return r;
}

int snd_pcm_wait(void *pcm, int timeout)
{
	in_pcm++;
	REAL(P_WAIT, int (*)(void *, int));
	int r = real ? real(pcm, timeout) : NOSYS;
	if (!--in_pcm)
		pcm_log(P_WAIT, pcm, timeout, r, 0, 0);
	return r;
}

/* Logs the room reported (X). */
int snd_pcm_status(void *pcm, void *status)
{
	in_pcm++;
	REAL(P_STATUS, int (*)(void *, void *));
	int r = real ? real(pcm, status) : NOSYS;
	long avail = 0;
	if (r == 0 && in_pcm == 1) {
		REAL(P_STATUS_AVAIL, unsigned long (*)(void *));
		if (real)
			avail = (long)real(status);
	}
	if (!--in_pcm)
		pcm_log(P_STATUS, pcm, 0, r, avail, 0);
	return r;
}

/* Logs the events (X). */
int snd_pcm_poll_descriptors_revents(void *pcm, void *pfds, unsigned nfds, unsigned short *revents)
{
	in_pcm++;
	REAL(P_REVENTS, int (*)(void *, void *, unsigned, unsigned short *));
	int r = real ? real(pcm, pfds, nfds, revents) : NOSYS;
	if (!--in_pcm)
		pcm_log(P_REVENTS, pcm, nfds, r, r == 0 && revents ? *revents : 0, 0);
	return r;
}

/* poll returning ready on a thread that used a PCM (not inside libasound): the
 * profiler's rtcheck.c tells its ALSA model so (audio_alsa_wait_done). */
#define POLL_LOG(i) \
	do { \
		if (!--in_pcm && r > 0 && pcm_thread) \
			pcm_log(i, NULL, 0, r, 0, 0); \
	} while (0)

int poll(struct pollfd *fds, nfds_t n, int t)
{
	in_pcm++;
	REAL(P_POLL, int (*)(struct pollfd *, nfds_t, int));
	int r = real ? real(fds, n, t) : NOSYS;
	POLL_LOG(P_POLL);
	return r;
}

int __poll_chk(struct pollfd *fds, nfds_t n, int t, size_t fl)
{
	in_pcm++;
	REAL(P_POLL_CHK, int (*)(struct pollfd *, nfds_t, int, size_t));
	int r = real ? real(fds, n, t, fl) : NOSYS;
	POLL_LOG(P_POLL);
	return r;
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *m)
{
	in_pcm++;
	REAL(P_PPOLL, int (*)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *));
	int r = real ? real(fds, n, t, m) : NOSYS;
	POLL_LOG(P_POLL);
	return r;
}

int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *m, size_t fl)
{
	in_pcm++;
	REAL(P_PPOLL_CHK, int (*)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t));
	int r = real ? real(fds, n, t, m, fl) : NOSYS;
	POLL_LOG(P_POLL);
	return r;
}

#endif /* CBCOUNT_CALLBACKS_ONLY */

/* ------------------------------------------------------------------ report */

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("CBCOUNT_OUT");
	char line[512];
	int fd, n;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof line, "callbacks %lu frames %lu\n", ncallbacks, nframes_total);
	if (write(fd, line, n) < 0)
		goto out;
	n = snprintf(line, sizeof line, "pa_writes %lu bytes %lu\nalsa_writes %lu frames %lu\n"
	             "pw_process %lu\n", npa, npa_bytes, nwrites, nwrite_frames, npw);
	if (write(fd, line, n) < 0)
		goto out;
	for (size_t i = 0; i < NSITES; i++) {
		Dl_info di;
		const char *file = "?", *base;
		if (!sites[i].ret)
			continue;
		if (dladdr(sites[i].ret, &di) && di.dli_fname)
			file = di.dli_fname;
		base = strrchr(file, '/');
		base = base ? base + 1 : file;
		if (strstr(base, "libaudioprof"))
			base = "own";
		n = snprintf(line, sizeof line, "%s %s %lu\n", call_names[sites[i].call], base,
		             sites[i].count);
		if (write(fd, line, n) < 0)
			goto out;
	}
#ifndef CBCOUNT_CALLBACKS_ONLY
	for (unsigned long i = 0; i < nev && i < NEV; i++) {
		struct ev *e = &evs[i];
		Dl_info di;
		const char *file = "?", *base;
		switch (__atomic_load_n(&e->type, __ATOMIC_ACQUIRE)) {
		case EV_CALL:
			if (dladdr(e->p, &di) && di.dli_fname)
				file = di.dli_fname;
			base = strrchr(file, '/');
			n = snprintf(line, sizeof line, "ev %lu %u call %s %s\n", i, e->thread,
			             call_names[e->what], base ? base + 1 : file);
			break;
		case EV_PCM:
			n = snprintf(line, sizeof line, "ev %lu %u pcm %s %p %ld %ld %ld %ld\n", i,
			             e->thread, pcm_names[e->what], e->p, e->arg, e->res, e->x, e->y);
			break;
		default:
			continue;
		}
		if (write(fd, line, n) < 0)
			goto out;
	}
	if (nev > NEV) {
		n = snprintf(line, sizeof line, "ev_lost %lu\n", nev - NEV);
		if (write(fd, line, n) < 0)
			goto out;
	}
#endif
	if (lost) {
		n = snprintf(line, sizeof line, "lost - %lu\n", lost);
		if (write(fd, line, n) < 0)
			goto out;
	}
out:
	close(fd);
}
