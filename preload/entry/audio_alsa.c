/* audio_alsa.c - ALSA has no callback: the thread that writes (or reads) a PCM runs a
 * loop of "wait for room, compute a period, write it". Each turn of that loop is a
 * cycle of the PCM's callback source, timed from the end of the wait to the start of
 * the next write, and real-time (depth > 0) in between, so allocations and other
 * unsafe calls made there are violations. Async handlers are real callbacks and get a
 * trampoline.
 *
 * What ends a wait (begins a cycle), on a thread that has written or read the PCM (or,
 * for snd_pcm_wait and revents, on a PCM no thread has written yet: the waiting thread
 * becomes its writer, so the first period, computed before the first write, is a cycle):
 *   - snd_pcm_wait returning "ready";
 *   - snd_pcm_poll_descriptors_revents returning (the program polled the PCM's fds);
 *   - poll returning, when rtcheck.c's wrapper calls audio_alsa_wait_done();
 *   - snd_pcm_avail_update, snd_pcm_avail, snd_pcm_status reporting at least a period
 *     of room (a getter reporting less is a busy-wait or a position query, not a wake-up);
 *   - a write or read returning on a blocking PCM (it blocked until there was room).
 *     A non-blocking PCM (SND_PCM_NONBLOCK at snd_pcm_open, or snd_pcm_nonblock) never
 *     blocks in a write, so its writes only end cycles.
 * What ends a cycle, counted: the start of snd_pcm_writei/writen/readi/readn, their
 * snd_pcm_mmap_* forms, snd_pcm_mmap_commit (an mmap program renders into the ring
 * buffer between snd_pcm_mmap_begin and the commit, so the commit, not the begin, is
 * the end of its processing), snd_pcm_wait. What ends a cycle that produced no period
 * (the program's teardown after its last write): snd_pcm_drain, snd_pcm_drop,
 * snd_pcm_close; it is discarded and its violations taken back (audio_cb_discard). A
 * cycle ending in a write shorter than the one before is held (audio_cb_hold) and
 * discarded with the next if that one is teardown: sox pads its last period with such
 * a write after freeing its effects chain. The first write of a stream ends nothing.
 * A thread's cycle is charged to the PCM whose wait ended; a full-duplex loop (read
 * then write) gives the capture PCM the processing and the playback PCM the short
 * stretch from its write to the next read.
 *
 * Every real libasound call a wrapper makes is inside the library's own API
 * (audio_lib_enter): unsafe calls made there, such as the mutex libasound takes in
 * snd_pcm_avail and revents, are recorded as libasound's, not the program's. Calls
 * libasound makes to its own exported functions (through its PLT: hw_params, wait,
 * avail_update, status, mmap_begin/commit on slave PCMs) run inside one of our
 * wrappers (TLS nest > 0) and are passed through untouched.
 *
 * Per PCM: an entry in a static table (no allocation), found by a lock-free hash of
 * the handle; its callback source is created at snd_pcm_hw_params or at the PCM's
 * first write (creating a source maps memory once, outside any cycle), named by
 * snd_pcm_name(). A cycle's deadline is the frames of the write ending it / rate, at
 * most the buffer; until the first, period size / rate, read from the parameters after
 * the real snd_pcm_hw_params succeeds (or from snd_pcm_hw_params_current at the
 * source's creation when hw_params was not seen, e.g. a library-internal call).
 * -EPIPE and -ESTRPIPE returned by a write, read, commit, wait or avail call count
 * one xrun per episode (until the next successful write). */
#include "audio.h"
#include "interpose.h"
#include "log.h"
#include "runtime.h"

#include <alsa/asoundlib.h>
#include <alloca.h>
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ------------------------------------------------------------ real functions */

SLOT(snd_pcm_open); SLOT(snd_pcm_close); SLOT(snd_pcm_nonblock); SLOT(snd_pcm_hw_params);
SLOT(snd_pcm_writei); SLOT(snd_pcm_writen); SLOT(snd_pcm_readi); SLOT(snd_pcm_readn);
SLOT(snd_pcm_mmap_writei); SLOT(snd_pcm_mmap_writen); SLOT(snd_pcm_mmap_readi);
SLOT(snd_pcm_mmap_readn); SLOT(snd_pcm_mmap_begin); SLOT(snd_pcm_mmap_commit);
SLOT(snd_pcm_wait); SLOT(snd_pcm_avail_update); SLOT(snd_pcm_avail); SLOT(snd_pcm_status);
SLOT(snd_pcm_poll_descriptors_revents); SLOT(snd_pcm_drain); SLOT(snd_pcm_drop);
SLOT(snd_async_add_pcm_handler); SLOT(snd_async_handler_get_callback_private);
/* helpers the wrappers call */
SLOT(snd_pcm_name); SLOT(snd_pcm_hw_params_get_period_size); SLOT(snd_pcm_hw_params_get_rate);
SLOT(snd_pcm_hw_params_current); SLOT(snd_pcm_hw_params_sizeof); SLOT(snd_pcm_status_get_avail);
SLOT(snd_pcm_hw_params_get_buffer_size);

/* ------------------------------------------------------------ PCM entries */

struct pcm_ent {
	snd_pcm_t *pcm;              /* NULL once closed */
	struct cb_source *src;       /* created at hw_params or the first write */
	int creating;                /* CAS guard for src */
	int free;                    /* closed before it had a source: reusable */
	int writer;                  /* tid of the last thread that wrote or read it */
	int nonblock;                /* 1: opened or set non-blocking */
	int xrun_latch;              /* an xrun was counted; cleared by a good write */
	uint32_t period, rate;       /* from hw_params (0 = not known) */
	uint32_t buffer;             /* buffer size in frames, from hw_params (0 = not known) */
	uint32_t last_io;            /* frames of the last write (read, commit) */
};

#define NENTS  1024u
#define HSLOTS 4096u             /* power of two, > 2 * NENTS */
static struct pcm_ent ents[NENTS];
static unsigned nents;
static uintptr_t hkeys[HSLOTS];  /* PCM handle, claimed with a CAS, never cleared */
static struct pcm_ent *hvals[HSLOTS];   /* newest entry of that handle */

/* Per thread. */
struct alsa_tls {
	struct pcm_ent *cur;         /* the cycle begun on this thread (audio_cb_begin) */
	struct pcm_ent *last;        /* the PCM this thread last wrote or read */
	int nest;                    /* inside a real libasound call made by a wrapper */
	int async;                   /* inside an async handler's trampoline */
	int tid;                     /* 0 until the thread's first write */
};
static __thread struct alsa_tls at TLS_IE;

static inline unsigned hash_pcm(const void *pcm)
{
	uint64_t h = (uintptr_t)pcm * 0x9E3779B97F4A7C15ull;
	return (unsigned)(h >> 40) & (HSLOTS - 1);
}

static struct pcm_ent *ent_find(snd_pcm_t *pcm)
{
	struct pcm_ent *e = at.last;
	if (e && __atomic_load_n(&e->pcm, __ATOMIC_RELAXED) == pcm)
		return e;
	for (unsigned i = 0, h = hash_pcm(pcm); i < HSLOTS; i++, h = (h + 1) & (HSLOTS - 1)) {
		uintptr_t k = __atomic_load_n(&hkeys[h], __ATOMIC_ACQUIRE);
		if (!k)
			return NULL;
		if (k == (uintptr_t)pcm) {
			e = __atomic_load_n(&hvals[h], __ATOMIC_ACQUIRE);
			return e && __atomic_load_n(&e->pcm, __ATOMIC_RELAXED) == pcm ? e : NULL;
		}
	}
	return NULL;
}

/* A free entry: one closed before it got a source (programs that probe devices open
 * and close many PCMs), else a new one. Entries that have a source are never reused:
 * another thread's TLS may still point to them. NULL when the table is full. */
static struct pcm_ent *ent_alloc(void)
{
	unsigned n = __atomic_load_n(&nents, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n && i < NENTS; i++) {
		struct pcm_ent *e = &ents[i];
		int one = 1;
		if (__atomic_load_n(&e->free, __ATOMIC_RELAXED) &&
		    __atomic_compare_exchange_n(&e->free, &one, 0, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			if (__atomic_load_n(&e->creating, __ATOMIC_ACQUIRE))
				continue;   /* got a source while being closed: retired */
			e->writer = e->nonblock = e->xrun_latch = 0;
			e->period = e->rate = e->buffer = e->last_io = 0;
			return e;
		}
	}
	n = __atomic_fetch_add(&nents, 1, __ATOMIC_ACQ_REL);
	if (n >= NENTS) {
		if (n == NENTS)
			log_msg("more than %u ALSA PCMs in use: later ones are not timed", NENTS);
		return NULL;
	}
	return &ents[n];
}

/* A new entry for pcm, replacing any older one of the same handle: in the first slot
 * of its probe sequence that is empty, holds the same handle, or holds a handle whose
 * entry is gone (closed or reused: keys are never cleared, so such slots are re-keyed
 * rather than left to fill the table). NULL when full. */
static struct pcm_ent *ent_new(snd_pcm_t *pcm)
{
	struct pcm_ent *e = ent_alloc();
	if (!e)
		return NULL;
	__atomic_store_n(&e->pcm, pcm, __ATOMIC_RELEASE);
	for (unsigned i = 0, h = hash_pcm(pcm); i < HSLOTS; i++, h = (h + 1) & (HSLOTS - 1)) {
		uintptr_t k = __atomic_load_n(&hkeys[h], __ATOMIC_ACQUIRE);
		if (k != (uintptr_t)pcm) {
			struct pcm_ent *o = k ? __atomic_load_n(&hvals[h], __ATOMIC_ACQUIRE) : NULL;
			if (k && (!o || (uintptr_t)__atomic_load_n(&o->pcm, __ATOMIC_RELAXED) == k))
				continue;   /* a live handle (or one being inserted) */
			if (!__atomic_compare_exchange_n(&hkeys[h], &k, (uintptr_t)pcm, 0,
							 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) &&
			    k != (uintptr_t)pcm)
				continue;
		}
		__atomic_store_n(&hvals[h], e, __ATOMIC_RELEASE);
		return e;
	}
	__atomic_store_n(&e->pcm, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&e->free, 1, __ATOMIC_RELEASE);
	return NULL;
}

static struct pcm_ent *ent_get(snd_pcm_t *pcm)
{
	struct pcm_ent *e = ent_find(pcm);
	return e ? e : ent_new(pcm);
}

/* Period size and rate from a configured parameter set. */
static void ent_format(struct pcm_ent *e, const snd_pcm_hw_params_t *params)
{
	__auto_type get_period = REAL_IN(alsa, snd_pcm_hw_params_get_period_size);
	__auto_type get_rate = REAL_IN(alsa, snd_pcm_hw_params_get_rate);
	snd_pcm_uframes_t frames = 0;
	unsigned rate = 0;
	int dir = 0;
	if (!get_period || !get_rate || get_period(params, &frames, &dir) < 0 ||
	    get_rate(params, &rate, &dir) < 0)
		return;
	e->period = (uint32_t)frames;
	e->rate = rate;
	__auto_type get_buffer = REAL_IN(alsa, snd_pcm_hw_params_get_buffer_size);
	snd_pcm_uframes_t bframes = 0;
	if (get_buffer && get_buffer(params, &bframes) == 0)
		e->buffer = (uint32_t)bframes;
	if (e->src)
		audio_source_format(e->src, e->period, e->rate);
}

/* The PCM's callback source, created on first need (maps memory: never inside a
 * cycle). NULL while another thread is creating it. */
static struct cb_source *ent_source(struct pcm_ent *e)
{
	struct cb_source *s = __atomic_load_n(&e->src, __ATOMIC_ACQUIRE);
	if (likely(s))
		return s;
	int expect = 0;
	if (!__atomic_compare_exchange_n(&e->creating, &expect, 1, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return NULL;
	runtime_guard++;
	at.nest++;   /* libasound calls made here are ours */
	__auto_type name_fn = REAL_IN(alsa, snd_pcm_name);
	const char *name = name_fn ? name_fn(e->pcm) : NULL;
	s = audio_source_new(AP_API_ALSA, name ? name : "alsa");
	if (s && !e->period) {
		/* hw_params not seen: the current setup, if the PCM has one. */
		__auto_type cur = REAL_IN(alsa, snd_pcm_hw_params_current);
		__auto_type size = REAL_IN(alsa, snd_pcm_hw_params_sizeof);
		if (cur && size) {
			snd_pcm_hw_params_t *p = alloca(size());
			if (cur(e->pcm, p) == 0)
				ent_format(e, p);
		}
	}
	if (s && e->period)
		audio_source_format(s, e->period, e->rate);
	at.nest--;
	runtime_guard--;
	__atomic_store_n(&e->src, s, __ATOMIC_RELEASE);
	return s;
}

/* ------------------------------------------------------------ cycles */

/* A cycle is provisional until it ends: in a write, read, commit or wait (a period's
 * work: counted) or in drain, drop or close (teardown after the last write: discarded,
 * its violations taken back). */
static inline void cycle_begin(struct pcm_ent *e)
{
	if (at.cur || at.async || !e->src)
		return;
	at.cur = e;
	audio_cb_begin(e->src);
	audio_cb_provisional();
}

/* End the thread's cycle, counted. frames: what the write (read, commit) ending it
 * hands over (0: a wait), which sets the cycle's deadline: the time the device takes
 * to play that many frames, at most the buffer (a write larger than the buffer
 * returns when its last part fits, the buffer full). A write shorter than the one
 * before it may be the stream's last, padding the last period after the program's
 * teardown (sox does so from its close): that cycle is held, and discarded with the
 * next one if that ends in drain, drop or close. */
static inline void cycle_end(unsigned long frames)
{
	struct pcm_ent *e = at.cur;
	if (!e)
		return;
	at.cur = NULL;
	int shorter = frames && frames < e->last_io;
	if (e->buffer && frames > e->buffer)
		frames = e->buffer;
	if (shorter)
		audio_cb_hold(e->src, (uint32_t)frames, e->rate);
	else
		audio_cb_end(e->src, (uint32_t)frames, frames ? e->rate : 0);
}

/* End the thread's cycle without a period's work: not counted, violations taken back. */
static inline void cycle_discard(void)
{
	struct pcm_ent *e = at.cur;
	if (!e)
		return;
	at.cur = NULL;
	audio_cb_discard(e->src);
}

/* Is the calling thread the one that writes or reads e? */
static inline int is_writer(const struct pcm_ent *e)
{
	return e && at.tid && e->writer == at.tid && e->src;
}

/* A wait on e (snd_pcm_wait, revents) ended on this thread: is it the writer's? A
 * PCM that no thread has written yet is claimed by the first thread that waits on it
 * (the first cycle, before the first write: a poll-loop program computes its first
 * period there). */
static int waiter_is_writer(struct pcm_ent *e)
{
	if (is_writer(e))
		return 1;
	if (!e || !e->src || __atomic_load_n(&e->writer, __ATOMIC_RELAXED))
		return 0;
	if (unlikely(!at.tid))
		at.tid = (int)syscall(SYS_gettid);   /* once per thread */
	int zero = 0;
	if (!__atomic_compare_exchange_n(&e->writer, &zero, at.tid, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return 0;
	at.last = e;
	return 1;
}

static inline void xrun_check(struct pcm_ent *e, long r)
{
	if ((r == -EPIPE || r == -ESTRPIPE) && e && !e->xrun_latch) {
		e->xrun_latch = 1;
		audio_xrun(ent_source(e));
	}
}

/* The start of a write, read or commit: the end of the thread's cycle. Registers the
 * thread as the PCM's writer and makes its source. */
static struct pcm_ent *io_start(snd_pcm_t *pcm, unsigned long frames)
{
	cycle_end(frames);
	struct pcm_ent *e = ent_get(pcm);
	if (!e)
		return NULL;
	if (unlikely(!at.tid))
		at.tid = (int)syscall(SYS_gettid);   /* once per thread */
	e->writer = at.tid;
	e->last_io = (uint32_t)frames;
	at.last = e;
	ent_source(e);
	return e;
}

/* The return of a write, read or commit. */
static void io_done(struct pcm_ent *e, long r, int may_block)
{
	if (!e)
		return;
	if (r >= 0) {
		e->xrun_latch = 0;
		if (may_block && !e->nonblock)
			cycle_begin(e);   /* it blocked until there was room: a wait ended */
	} else {
		xrun_check(e, r);
	}
}

/* A getter reporting `avail` frames of room: a wait end when that is a period. */
static void avail_seen(snd_pcm_t *pcm, long avail)
{
	if (at.cur && avail >= 0)
		return;
	struct pcm_ent *e = ent_find(pcm);
	if (!e)
		return;
	if (avail < 0)
		xrun_check(e, avail);
	else if (is_writer(e) && avail > 0 && (unsigned long)avail >= e->period)
		cycle_begin(e);
}

/* From rtcheck.c's poll wrappers, after the real poll returns: on a thread that writes
 * a PCM, outside any cycle and any libasound call, the end of a wait. */
void audio_alsa_wait_done(void)
{
	struct pcm_ent *e = at.last;
	if (!e || at.cur || at.nest || at.async)
		return;
	if (__atomic_load_n(&e->pcm, __ATOMIC_RELAXED) && is_writer(e))
		cycle_begin(e);
}

/* ------------------------------------------------------------ wrappers */

/* Passed through untouched when called from inside libasound or an async trampoline
 * (where writes only count xruns: the trampoline times the handler). */
#define INNER (at.nest || at.async)
#define CALL(expr) ({ at.nest++; audio_lib_enter(AP_API_ALSA); __typeof__(expr) r_ = (expr); \
			audio_lib_leave(); at.nest--; r_; })

EXPORT int snd_pcm_open(snd_pcm_t **pcmp, const char *name, snd_pcm_stream_t stream, int mode)
{
	__auto_type real = REAL_IN(alsa, snd_pcm_open);
	if (!real)
		return -ENOSYS;
	if (INNER)
		return real(pcmp, name, stream, mode);
	int r = CALL(real(pcmp, name, stream, mode));
	if (r == 0 && pcmp && *pcmp) {
		struct pcm_ent *e = ent_new(*pcmp);
		if (e)
			e->nonblock = (mode & SND_PCM_NONBLOCK) != 0;
	}
	return r;
}

EXPORT int snd_pcm_nonblock(snd_pcm_t *pcm, int nonblock)
{
	__auto_type real = REAL_IN(alsa, snd_pcm_nonblock);
	if (!real)
		return -ENOSYS;
	if (INNER)
		return real(pcm, nonblock);
	int r = CALL(real(pcm, nonblock));
	if (r == 0 && (nonblock == 0 || nonblock == 1)) {
		struct pcm_ent *e = ent_get(pcm);
		if (e)
			e->nonblock = nonblock;
	}
	return r;
}

EXPORT int snd_pcm_close(snd_pcm_t *pcm)
{
	__auto_type real = REAL_IN(alsa, snd_pcm_close);
	if (!real)
		return -ENOSYS;
	if (INNER)
		return real(pcm);
	struct pcm_ent *e = ent_find(pcm);
	cycle_discard();   /* teardown after the last write */
	if (e) {
		__atomic_store_n(&e->pcm, NULL, __ATOMIC_RELEASE);
		if (at.last == e)
			at.last = NULL;
		if (!__atomic_load_n(&e->creating, __ATOMIC_ACQUIRE))
			__atomic_store_n(&e->free, 1, __ATOMIC_RELEASE);   /* no source: reusable */
	}
	return CALL(real(pcm));
}

EXPORT int snd_pcm_hw_params(snd_pcm_t *pcm, snd_pcm_hw_params_t *params)
{
	__auto_type real = REAL_IN(alsa, snd_pcm_hw_params);
	if (!real)
		return -ENOSYS;
	if (INNER)
		return real(pcm, params);
	int r = CALL(real(pcm, params));
	if (r == 0) {
		struct pcm_ent *e = ent_get(pcm);
		if (e) {
			ent_format(e, params);
			ent_source(e);
		}
	}
	return r;
}

/* Writes and reads: the end of a cycle at the start, maybe the end of a wait at the
 * return. */
#define IO_WRAPPER(name, buftype) \
EXPORT snd_pcm_sframes_t name(snd_pcm_t *pcm, buftype buf, snd_pcm_uframes_t size) \
{ \
	__auto_type real = REAL_IN(alsa, name); \
	if (!real) \
		return -ENOSYS; \
	if (at.nest) \
		return real(pcm, buf, size); \
	if (at.async) { \
		snd_pcm_sframes_t ra = CALL(real(pcm, buf, size)); \
		io_done(ent_find(pcm), ra, 0); \
		return ra; \
	} \
	struct pcm_ent *e = io_start(pcm, size); \
	snd_pcm_sframes_t r = CALL(real(pcm, buf, size)); \
	io_done(e, r, 1); \
	return r; \
}
IO_WRAPPER(snd_pcm_writei, const void *)
IO_WRAPPER(snd_pcm_writen, void **)
IO_WRAPPER(snd_pcm_readi, void *)
IO_WRAPPER(snd_pcm_readn, void **)
IO_WRAPPER(snd_pcm_mmap_writei, const void *)
IO_WRAPPER(snd_pcm_mmap_writen, void **)
IO_WRAPPER(snd_pcm_mmap_readi, void *)
IO_WRAPPER(snd_pcm_mmap_readn, void **)

EXPORT int snd_pcm_mmap_begin(snd_pcm_t *pcm, const snd_pcm_channel_area_t **areas,
			      snd_pcm_uframes_t *offset, snd_pcm_uframes_t *frames)
{
	__auto_type real = REAL_IN(alsa, snd_pcm_mmap_begin);
	if (!real)
		return -ENOSYS;
	if (INNER)
		return real(pcm, areas, offset, frames);
	int r = CALL(real(pcm, areas, offset, frames));
	if (r < 0)
		xrun_check(ent_find(pcm), r);
	return r;
}

EXPORT snd_pcm_sframes_t snd_pcm_mmap_commit(snd_pcm_t *pcm, snd_pcm_uframes_t offset,
					     snd_pcm_uframes_t frames)
{
	__auto_type real = REAL_IN(alsa, snd_pcm_mmap_commit);
	if (!real)
		return -ENOSYS;
	if (INNER)
		return real(pcm, offset, frames);
	struct pcm_ent *e = io_start(pcm, frames);
	snd_pcm_sframes_t r = CALL(real(pcm, offset, frames));
	io_done(e, r, 0);
	return r;
}

EXPORT int snd_pcm_wait(snd_pcm_t *pcm, int timeout)
{
	__auto_type real = REAL_IN(alsa, snd_pcm_wait);
	if (!real)
		return -ENOSYS;
	if (INNER)
		return real(pcm, timeout);
	cycle_end(0);   /* it polls: never inside a cycle */
	int r = CALL(real(pcm, timeout));
	struct pcm_ent *e = ent_find(pcm);
	if (r > 0 && waiter_is_writer(e))
		cycle_begin(e);
	else if (r < 0)
		xrun_check(e, r);
	return r;
}

EXPORT int snd_pcm_poll_descriptors_revents(snd_pcm_t *pcm, struct pollfd *pfds,
					    unsigned int nfds, unsigned short *revents)
{
	__auto_type real = REAL_IN(alsa, snd_pcm_poll_descriptors_revents);
	if (!real)
		return -ENOSYS;
	if (INNER)
		return real(pcm, pfds, nfds, revents);
	int r = CALL(real(pcm, pfds, nfds, revents));
	if (r == 0 && revents && *revents && !at.cur) {
		struct pcm_ent *e = ent_find(pcm);
		if (waiter_is_writer(e))
			cycle_begin(e);
	}
	return r;
}

EXPORT snd_pcm_sframes_t snd_pcm_avail_update(snd_pcm_t *pcm)
{
	__auto_type real = REAL_IN(alsa, snd_pcm_avail_update);
	if (!real)
		return -ENOSYS;
	if (INNER)
		return real(pcm);
	snd_pcm_sframes_t r = CALL(real(pcm));
	avail_seen(pcm, r);
	return r;
}

EXPORT snd_pcm_sframes_t snd_pcm_avail(snd_pcm_t *pcm)
{
	__auto_type real = REAL_IN(alsa, snd_pcm_avail);
	if (!real)
		return -ENOSYS;
	if (INNER)
		return real(pcm);
	snd_pcm_sframes_t r = CALL(real(pcm));
	avail_seen(pcm, r);
	return r;
}

EXPORT int snd_pcm_status(snd_pcm_t *pcm, snd_pcm_status_t *status)
{
	__auto_type real = REAL_IN(alsa, snd_pcm_status);
	if (!real)
		return -ENOSYS;
	if (INNER)
		return real(pcm, status);
	int r = CALL(real(pcm, status));
	if (r == 0 && !at.cur) {
		__auto_type get_avail = REAL_IN(alsa, snd_pcm_status_get_avail);
		if (get_avail)
			avail_seen(pcm, (long)get_avail(status));
	} else if (r < 0) {
		avail_seen(pcm, r);
	}
	return r;
}

/* Draining or dropping is not a period's work: the cycle ends before it. */
EXPORT int snd_pcm_drain(snd_pcm_t *pcm)
{
	__auto_type real = REAL_IN(alsa, snd_pcm_drain);
	if (!real)
		return -ENOSYS;
	if (INNER)
		return real(pcm);
	cycle_discard();
	return CALL(real(pcm));
}

EXPORT int snd_pcm_drop(snd_pcm_t *pcm)
{
	__auto_type real = REAL_IN(alsa, snd_pcm_drop);
	if (!real)
		return -ENOSYS;
	if (INNER)
		return real(pcm);
	cycle_discard();
	return CALL(real(pcm));
}

/* ------------------------------------------------------------ async handlers */

/* A registered async callback. The handler's private data becomes the context; the
 * program gets its own back from snd_async_handler_get_callback_private (wrapped
 * below: a pointer into ctxs[] is always ours). */
struct async_ctx {
	snd_async_callback_t cb;
	void *priv;
	struct cb_source *src;
};
#define NCTX 64
static struct async_ctx ctxs[NCTX];
static unsigned nctx;

static inline struct async_ctx *ctx_of(void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)ctxs;
	if (a < lo || a >= lo + sizeof(ctxs) || (a - lo) % sizeof(ctxs[0]))
		return NULL;
	return p;
}

static void async_trampoline(snd_async_handler_t *h)
{
	__auto_type get_priv = REAL_IN(alsa, snd_async_handler_get_callback_private);
	struct async_ctx *c = get_priv ? ctx_of(get_priv(h)) : NULL;
	if (!c)
		return;
	at.async++;
	if (c->src)
		audio_cb_begin(c->src);
	c->cb(h);
	if (c->src)
		audio_cb_end(c->src, 0, 0);
	at.async--;
}

EXPORT int snd_async_add_pcm_handler(snd_async_handler_t **handler, snd_pcm_t *pcm,
				     snd_async_callback_t callback, void *private_data)
{
	__auto_type real = REAL_IN(alsa, snd_async_add_pcm_handler);
	if (!real)
		return -ENOSYS;
	if (INNER || !callback || callback == async_trampoline)
		return real(handler, pcm, callback, private_data);
	/* now, not in SIGIO */
	__auto_type get_priv = REAL_IN(alsa, snd_async_handler_get_callback_private);
	(void)get_priv;
	unsigned n = __atomic_fetch_add(&nctx, 1, __ATOMIC_RELAXED);
	if (n >= NCTX) {
		if (n == NCTX)
			log_msg("more than %u ALSA async handlers: later ones are not timed", NCTX);
		return CALL(real(handler, pcm, callback, private_data));
	}
	struct async_ctx *c = &ctxs[n];
	c->cb = callback;
	c->priv = private_data;
	struct pcm_ent *e = ent_get(pcm);
	c->src = e ? ent_source(e) : NULL;
	return CALL(real(handler, pcm, async_trampoline, c));
}

EXPORT void *snd_async_handler_get_callback_private(snd_async_handler_t *handler)
{
	__auto_type real = REAL_IN(alsa, snd_async_handler_get_callback_private);
	if (!real)
		return NULL;
	void *p = real(handler);
	struct async_ctx *c = ctx_of(p);
	return c ? c->priv : p;
}

/* ------------------------------------------------------------ the hook table */

const struct ap_hook hooks_alsa[] = {
	HOOK(snd_pcm_open), HOOK(snd_pcm_close), HOOK(snd_pcm_nonblock), HOOK(snd_pcm_hw_params),
	HOOK(snd_pcm_writei), HOOK(snd_pcm_writen), HOOK(snd_pcm_readi), HOOK(snd_pcm_readn),
	HOOK(snd_pcm_mmap_writei), HOOK(snd_pcm_mmap_writen), HOOK(snd_pcm_mmap_readi),
	HOOK(snd_pcm_mmap_readn), HOOK(snd_pcm_mmap_begin), HOOK(snd_pcm_mmap_commit),
	HOOK(snd_pcm_wait), HOOK(snd_pcm_avail_update), HOOK(snd_pcm_avail), HOOK(snd_pcm_status),
	HOOK(snd_pcm_poll_descriptors_revents), HOOK(snd_pcm_drain), HOOK(snd_pcm_drop),
	HOOK(snd_async_add_pcm_handler), HOOK(snd_async_handler_get_callback_private),
	HELPER_HOOK(snd_pcm_name), HELPER_HOOK(snd_pcm_hw_params_get_period_size),
	HELPER_HOOK(snd_pcm_hw_params_get_rate), HELPER_HOOK(snd_pcm_hw_params_current),
	HELPER_HOOK(snd_pcm_hw_params_sizeof), HELPER_HOOK(snd_pcm_status_get_avail),
	HELPER_HOOK(snd_pcm_hw_params_get_buffer_size),
	{ NULL, NULL, NULL }
};
