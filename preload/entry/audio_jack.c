/* audio_jack.c - JACK entry points: process callbacks (jack_set_process_callback), the
 * process-thread mode (jack_set_process_thread: a callback is the time from
 * jack_cycle_wait returning to jack_cycle_signal), and the xruns the server reports.
 *
 * Callback mode: the program's callback and argument go into a context allocated at
 * registration; JACK gets our trampoline and the context. Thread mode: the source is
 * made at jack_set_process_thread; jack_cycle_wait/jack_cycle_signal (and the older
 * jack_thread_wait) of that client begin and end its callbacks. Xruns: JACK keeps one
 * xrun callback per client, so ours is registered when the process callback or thread
 * is set, and a program's own xrun callback (set before or after) is kept in the
 * client's record and called from ours.
 *
 * Deadline: nframes of each cycle / the sample rate read when the callback is set (JACK
 * does not change the rate of a running server). Source name: the client's name.
 *
 * Threads: registration runs on the program's threads (allocation and syscalls are fine
 * there); the trampoline and jack_cycle_* on JACK's real-time thread take no lock,
 * allocate nothing and make no syscall; the xrun trampoline runs on JACK's
 * notification thread. Client records live in a push-only list, never freed (a closed
 * client's record is only unlinked from lookups by clearing its client pointer). */
#include "audio.h"
#include "interpose.h"

#include <jack/jack.h>
#include <stdlib.h>

/* ------------------------------------------------------------ real functions */

SLOT(jack_set_process_callback); SLOT(jack_set_process_thread); SLOT(jack_cycle_wait);
SLOT(jack_cycle_signal); SLOT(jack_thread_wait); SLOT(jack_set_xrun_callback);
SLOT(jack_client_close);
/* helpers the wrappers call */
SLOT(jack_get_client_name); SLOT(jack_get_sample_rate); SLOT(jack_get_buffer_size);

/* ------------------------------------------------------------ client records */

struct jclient {
	struct jclient *next;             /* push-only list */
	jack_client_t *client;            /* NULL once closed */
	struct cb_source *src;            /* latest process callback or thread source */
	JackXRunCallback user_xrun;       /* the program's own xrun callback, or NULL */
	void *user_xrun_arg;
	int xrun_ours;                    /* our xrun trampoline is registered */
	/* process-thread mode (only the client's real-time thread touches these) */
	struct cb_source *thread_src;
	int in_cycle;                     /* between jack_cycle_wait and jack_cycle_signal */
	uint32_t nframes, rate;
};

static struct jclient *clients;

/* A context or record of ours: allocated outside the profile (never on the audio thread). */
static void *own_calloc(size_t size)
{
	runtime_guard++;
	void *p = calloc(1, size);
	runtime_guard--;
	return p;
}

static struct jclient *client_find(jack_client_t *c)
{
	for (struct jclient *j = __atomic_load_n(&clients, __ATOMIC_ACQUIRE); j; j = j->next)
		if (j->client == c)
			return j;
	return NULL;
}

/* The record of client c, made on first use (registration time only). */
static struct jclient *client_get(jack_client_t *c)
{
	struct jclient *j = client_find(c);
	if (j || !(j = own_calloc(sizeof(*j))))
		return j;
	j->client = c;
	j->next = __atomic_load_n(&clients, __ATOMIC_ACQUIRE);
	while (!__atomic_compare_exchange_n(&clients, &j->next, j, 1, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE))
		;
	return j;
}

/* A new source named after the client, with the deadline known before the first cycle. */
static struct cb_source *client_source(jack_client_t *c, uint32_t *rate)
{
	__auto_type name = REAL_IN(jack, jack_get_client_name);
	__auto_type sr = REAL_IN(jack, jack_get_sample_rate);
	__auto_type bs = REAL_IN(jack, jack_get_buffer_size);
	const char *n = name ? name(c) : NULL;
	struct cb_source *s = audio_source_new(AP_API_JACK, n ? n : "jack");
	*rate = sr ? sr(c) : 0;
	if (s)
		audio_source_format(s, bs ? bs(c) : 0, *rate);
	return s;
}

/* ------------------------------------------------------------ xruns */

static int xrun_tramp(void *arg)
{
	struct jclient *j = arg;
	audio_xrun(__atomic_load_n(&j->src, __ATOMIC_ACQUIRE));
	JackXRunCallback cb = __atomic_load_n(&j->user_xrun, __ATOMIC_ACQUIRE);
	return cb ? cb(j->user_xrun_arg) : 0;
}

/* Register our xrun callback for this client once (before activation, like JACK wants). */
static void xrun_ensure(struct jclient *j)
{
	if (j->xrun_ours)
		return;
	__auto_type real = REAL_IN(jack, jack_set_xrun_callback);
	if (real && real(j->client, xrun_tramp, j) == 0)
		j->xrun_ours = 1;
}

EXPORT int jack_set_xrun_callback(jack_client_t *client, JackXRunCallback cb, void *arg)
{
	__auto_type real = REAL_IN(jack, jack_set_xrun_callback);
	if (!real)
		return -1;
	struct jclient *j;
	if (!client || cb == xrun_tramp || !(j = client_get(client)))
		return real(client, cb, arg);
	JackXRunCallback old_cb = j->user_xrun;
	void *old_arg = j->user_xrun_arg;
	j->user_xrun_arg = arg;
	__atomic_store_n(&j->user_xrun, cb, __ATOMIC_RELEASE);
	int r = real(client, xrun_tramp, j);
	if (r == 0) {
		j->xrun_ours = 1;
	} else {   /* refused (an active client): what was set stays */
		__atomic_store_n(&j->user_xrun, old_cb, __ATOMIC_RELEASE);
		j->user_xrun_arg = old_arg;
	}
	return r;
}

/* ------------------------------------------------------------ process callbacks */

struct jproc {
	JackProcessCallback cb;           /* the program's callback and argument */
	void *arg;
	struct cb_source *src;
	uint32_t rate;
};

static int process_tramp(jack_nframes_t nframes, void *arg)
{
	struct jproc *p = arg;
	audio_cb_begin(p->src);
	int r = p->cb(nframes, p->arg);
	audio_cb_end(p->src, nframes, p->rate);
	return r;
}

EXPORT int jack_set_process_callback(jack_client_t *client, JackProcessCallback cb, void *arg)
{
	__auto_type real = REAL_IN(jack, jack_set_process_callback);
	if (!real)
		return -1;
	if (!client || !cb || cb == process_tramp)   /* never wrap our own trampoline */
		return real(client, cb, arg);
	struct jclient *j = client_get(client);
	struct jproc *p = own_calloc(sizeof(*p));
	if (!p || !j)
		return real(client, cb, arg);
	p->cb = cb;
	p->arg = arg;
	p->src = client_source(client, &p->rate);
	if (!p->src) {
		runtime_guard++;
		free(p);
		runtime_guard--;
		return real(client, cb, arg);
	}
	int r = real(client, process_tramp, p);
	if (r == 0) {
		__atomic_store_n(&j->src, p->src, __ATOMIC_RELEASE);
		xrun_ensure(j);
	}
	return r;
}

/* ------------------------------------------------------------ process-thread mode */

EXPORT int jack_set_process_thread(jack_client_t *client, JackThreadCallback fn, void *arg)
{
	__auto_type real = REAL_IN(jack, jack_set_process_thread);
	if (!real)
		return -1;
	struct jclient *j = client && fn ? client_get(client) : NULL;
	if (j && !j->thread_src) {
		uint32_t rate;
		struct cb_source *s = client_source(client, &rate);
		j->rate = rate;
		__atomic_store_n(&j->thread_src, s, __ATOMIC_RELEASE);
	}
	/* Look up now what the real-time thread will call, not on its first cycle. */
	(void)REAL_IN(jack, jack_cycle_wait);
	(void)REAL_IN(jack, jack_cycle_signal);
	(void)REAL_IN(jack, jack_thread_wait);
	int r = real(client, fn, arg);
	if (r == 0 && j && j->thread_src) {
		__atomic_store_n(&j->src, j->thread_src, __ATOMIC_RELEASE);
		xrun_ensure(j);
	}
	return r;
}

static inline void cycle_end(struct jclient *j)
{
	j->in_cycle = 0;
	audio_cb_end(j->thread_src, j->nframes, j->rate);
}

static inline void cycle_begin(struct jclient *j, jack_nframes_t n)
{
	if (n && j->thread_src) {
		j->nframes = n;
		j->in_cycle = 1;
		audio_cb_begin(j->thread_src);
	}
}

EXPORT jack_nframes_t jack_cycle_wait(jack_client_t *client)
{
	__auto_type real = REAL_IN(jack, jack_cycle_wait);
	if (!real)
		return 0;
	struct jclient *j = client_find(client);
	if (j && j->in_cycle)
		cycle_end(j);   /* waited again without signalling: that cycle is over */
	jack_nframes_t n = real(client);
	if (j)
		cycle_begin(j, n);
	return n;
}

EXPORT void jack_cycle_signal(jack_client_t *client, int status)
{
	__auto_type real = REAL_IN(jack, jack_cycle_signal);
	struct jclient *j = client_find(client);
	if (j && j->in_cycle)
		cycle_end(j);
	if (real)
		real(client, status);
}

/* The older form: signal the end of this cycle and wait for the next. */
EXPORT jack_nframes_t jack_thread_wait(jack_client_t *client, int status)
{
	__auto_type real = REAL_IN(jack, jack_thread_wait);
	if (!real)
		return 0;
	struct jclient *j = client_find(client);
	if (j && j->in_cycle)
		cycle_end(j);
	jack_nframes_t n = real(client, status);
	if (j)
		cycle_begin(j, n);
	return n;
}

/* A closed client's handle may come back for a new client: forget the record. */
EXPORT int jack_client_close(jack_client_t *client)
{
	__auto_type real = REAL_IN(jack, jack_client_close);
	int r = real ? real(client) : -1;
	struct jclient *j = client ? client_find(client) : NULL;
	if (j)
		__atomic_store_n(&j->client, NULL, __ATOMIC_RELEASE);
	return r;
}

/* ------------------------------------------------------------ dlsym hook table */

const struct ap_hook hooks_jack[] = {
	HOOK(jack_set_process_callback), HOOK(jack_set_process_thread),
	HOOK(jack_cycle_wait), HOOK(jack_cycle_signal), HOOK(jack_thread_wait),
	HOOK(jack_set_xrun_callback), HOOK(jack_client_close),
	/* helpers the wrappers call */
	HELPER_HOOK(jack_get_client_name), HELPER_HOOK(jack_get_sample_rate),
	HELPER_HOOK(jack_get_buffer_size),
	{ NULL, NULL, NULL }
};
