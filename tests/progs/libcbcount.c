/* libcbcount.c - the matrix tests' own counting wrapper (t_real_jack_apps.sh): an
 * LD_PRELOAD module, listed BEFORE libaudioprof.so, that counts what a real program's
 * JACK process callback really does, independently of the profiler.
 *
 * It interposes jack_set_process_callback (pa_stream_set_write_callback and
 * pw_stream_add_listener's process event alike) and registers a trampoline of its own, so the
 * chain is jack -> the profiler's trampoline -> ours -> the program's callback: "inside
 * the callback" here means inside the program's own function, nothing of the profiler.
 * For ALSA it counts the writes (snd_pcm_writei) and takes as a cycle the time from a
 * write's return to the next write (see in_alsa_cycle); this works only without the
 * profiler (whose wrappers call libasound directly, not through this one).
 * On that thread, while the callback runs (or in an ALSA cycle), it counts the calls to the allocation
 * functions, free (of a non-NULL pointer) and pthread_mutex_lock, each by the file of its
 * immediate caller (dladdr of the return address): a call whose caller is the profiler
 * (libaudioprof.so, when it calls these through its PLT) is counted apart as "own".
 * At exit it writes to $CBCOUNT_OUT one line per counter:
 *     callbacks N frames F      (JACK process callbacks, frames they were asked for)
 *     pa_writes N bytes B       (PulseAudio stream write callbacks, bytes asked)
 *     alsa_writes N frames F    (snd_pcm_writei calls, frames written)
 *     pw_process N              (PipeWire stream process events, pw_stream_add_listener)
 *     CALL CALLER-FILE N        (CALL: malloc calloc realloc free memalign
 *                                posix_memalign aligned_alloc pthread_mutex_lock fread)
 *     first CALL CALLER-FILE N  (ALSA: in the first cycle, before the first write)
 *     teardown CALL CALLER-FILE N (ALSA: after the last write)
 * Built with CBCOUNT_CALLBACKS_ONLY (libcbfirst.so) it defines no libc or ALSA name
 * and counts only the callbacks: that one goes BEFORE libaudioprof.so, so that it sees the calls of
 * a plugin that loaded libjack RTLD_LOCAL, which the profiler answers from libjack
 * directly (csound's rtjack, ALSA's jack PCM).
 * It never writes to the program's stdout or stderr and changes nothing it does.
 * Counters are fixed arrays updated with atomics: no allocation, lock or syscall on the
 * audio thread (dladdr runs at exit only). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
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
	unsigned long count;            /* in callbacks, and in ALSA cycles but the first */
	unsigned long pending;          /* in the ALSA cycle under way */
	unsigned long first;            /* in the first ALSA cycle (before the first write) */
	unsigned long teardown;         /* after the last write (no cycle's) */
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
/* ALSA: a cycle runs from the return of one snd_pcm_writei to the next one; the first
 * from the return of snd_pcm_hw_params or snd_pcm_prepare to the first write. Calls in
 * a cycle are pending until the next write starts: those after the last write (the
 * teardown, up to drain, drop, close or exit) belong to no cycle. */
#ifndef CBCOUNT_CALLBACKS_ONLY
static __thread int in_alsa_cycle;
static int alsa_before_first = 1;

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
			__atomic_add_fetch(in_cb ? &s->count : &s->pending, 1, __ATOMIC_RELAXED);
			return;
		}
	}
	__atomic_add_fetch(&lost, 1, __ATOMIC_RELAXED);
}

#define COUNT(call) do { if (in_cb || in_alsa_cycle) count(call, __builtin_return_address(0)); } while (0)

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

long snd_pcm_writei(void *pcm, const void *buf, unsigned long n)
{
	static long (*real)(void *, const void *, unsigned long);
	long r;

	if (!real) {
		real = (long (*)(void *, const void *, unsigned long))dlsym(RTLD_NEXT, "snd_pcm_writei");
		if (!real) {
			void *h = dlopen("libasound.so.2", RTLD_LAZY | RTLD_NOLOAD);
			if (h)
				real = (long (*)(void *, const void *, unsigned long))dlsym(h, "snd_pcm_writei");
		}
		if (!real)
			return -38; /* -ENOSYS */
	}
	in_alsa_cycle = 0;
	for (size_t i = 0; i < NSITES; i++) {   /* the cycle before this write is complete */
		if (alsa_before_first)
			sites[i].first += sites[i].pending;
		else
			sites[i].count += sites[i].pending;
		sites[i].pending = 0;
	}
	alsa_before_first = 0;
	r = real(pcm, buf, n);
	in_alsa_cycle = 1;
	__atomic_add_fetch(&nwrites, 1, __ATOMIC_RELAXED);
	if (r > 0)
		__atomic_add_fetch(&nwrite_frames, (unsigned long)r, __ATOMIC_RELAXED);
	return r;
}

static int end_cycle(void *pcm, const char *name)
{
	int (*real)(void *) = (int (*)(void *))dlsym(RTLD_NEXT, name);
	if (!real) {
		void *h = dlopen("libasound.so.2", RTLD_LAZY | RTLD_NOLOAD);
		if (h)
			real = (int (*)(void *))dlsym(h, name);
	}
	in_alsa_cycle = 0;
	return real ? real(pcm) : -38;
}

static int start_first(void *pcm, void *params, const char *name)
{
	void *real = dlsym(RTLD_NEXT, name);
	if (!real) {
		void *h = dlopen("libasound.so.2", RTLD_LAZY | RTLD_NOLOAD);
		if (h)
			real = dlsym(h, name);
	}
	int r = !real ? -38 : params ? ((int (*)(void *, void *))real)(pcm, params)
	                             : ((int (*)(void *))real)(pcm);
	if (alsa_before_first)
		in_alsa_cycle = 1;
	return r;
}

int snd_pcm_hw_params(void *pcm, void *params) { return start_first(pcm, params, "snd_pcm_hw_params"); }
int snd_pcm_prepare(void *pcm) { return start_first(pcm, NULL, "snd_pcm_prepare"); }

int snd_pcm_drain(void *pcm) { return end_cycle(pcm, "snd_pcm_drain"); }
int snd_pcm_drop(void *pcm) { return end_cycle(pcm, "snd_pcm_drop"); }
int snd_pcm_close(void *pcm) { return end_cycle(pcm, "snd_pcm_close"); }

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
		sites[i].teardown += sites[i].pending;
		n = snprintf(line, sizeof line, "%s %s %lu\nfirst %s %s %lu\nteardown %s %s %lu\n",
		             call_names[sites[i].call], base, sites[i].count,
		             call_names[sites[i].call], base, sites[i].first,
		             call_names[sites[i].call], base, sites[i].teardown);
		if (write(fd, line, n) < 0)
			goto out;
	}
	if (lost) {
		n = snprintf(line, sizeof line, "lost - %lu\n", lost);
		if (write(fd, line, n) < 0)
			goto out;
	}
out:
	close(fd);
}
