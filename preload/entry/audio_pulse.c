/* audio_pulse.c - PulseAudio stream callbacks: pa_stream_set_write_callback and
 * pa_stream_set_read_callback get a trampoline that times the program's callback
 * against nbytes / (frame size x rate), the stream's sample spec read once from
 * pa_stream_get_sample_spec in the trampoline (a plain getter; the spec is final
 * once the stream is connected, which is before its first request). The program's
 * userdata goes to its callback untouched; libpulse has no getter for it.
 *
 * Sources are named by the stream's name: pa_stream_new_with_proplist (which
 * pa_stream_new reaches through libpulse's PLT) and pa_stream_new_extended are
 * wrapped to remember it (NULL name: the proplist's media.name; else "pulse"). A
 * stream's source is made at its first callback registration, where a syscall is
 * fine; a later stream of the same name (a program re-creating its stream) shares it
 * (a context's callbacks all run on its one main loop thread). Contexts live in static
 * tables (no allocation) and are never freed: a registration repeated with the same
 * stream, callback and userdata reuses its context. libpulse-simple's pa_simple
 * registers its own callbacks through these functions and gets them timed too. */
#include "audio.h"
#include "interpose.h"
#include "log.h"
#include "runtime.h"

#include <pulse/proplist.h>
#include <pulse/sample.h>
#include <pulse/stream.h>

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

SLOT(pa_stream_new_with_proplist); SLOT(pa_stream_new_extended);
SLOT(pa_stream_set_write_callback); SLOT(pa_stream_set_read_callback);
SLOT(pa_stream_get_sample_spec); SLOT(pa_frame_size); SLOT(pa_proplist_gets);

/* ------------------------------------------------------------ streams */

/* The tables below change only when a program creates a stream or sets a callback
 * (never inside our trampoline): a spinlock keeps that simple. Uncontended, no
 * syscall. */
static char tables_lock;
static void tables_acquire(void)
{
	while (__atomic_test_and_set(&tables_lock, __ATOMIC_ACQUIRE))
		;
}
static void tables_release(void)
{
	__atomic_clear(&tables_lock, __ATOMIC_RELEASE);
}

struct stream_ent {
	pa_stream *s;
	char name[64];
	struct cb_source *src;       /* made at the first callback registration */
};
#define NSTREAMS 512u
static struct stream_ent streams[NSTREAMS];
static unsigned nstreams;

/* The entry of stream s (a freed stream's address may be reused by a new one: its
 * entry is overwritten when that one is created). Lock held. */
static struct stream_ent *stream_find(pa_stream *s)
{
	for (unsigned i = 0; i < nstreams; i++)
		if (streams[i].s == s)
			return &streams[i];
	return NULL;
}

static void stream_new(pa_stream *s, const char *name, pa_proplist *p)
{
	if (!s)
		return;
	if (!name && p) {
		__auto_type gets = REAL_IN(pulse, pa_proplist_gets);
		name = gets ? gets(p, PA_PROP_MEDIA_NAME) : NULL;
	}
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", name ? name : "pulse");
	tables_acquire();
	struct stream_ent *e = stream_find(s);
	if (!e && nstreams < NSTREAMS)
		e = &streams[nstreams++];
	if (e) {
		e->s = s;
		memcpy(e->name, buf, sizeof(buf));
		e->src = NULL;
	}
	tables_release();
	static int warned;
	if (!e && !__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
		log_msg("more than %u PulseAudio streams: later ones are named \"pulse\"", NSTREAMS);
}

EXPORT pa_stream *pa_stream_new_with_proplist(pa_context *c, const char *name,
					      const pa_sample_spec *ss, const pa_channel_map *map,
					      pa_proplist *p)
{
	__auto_type real = REAL_IN(pulse, pa_stream_new_with_proplist);
	if (!real)
		return NULL;
	pa_stream *s = real(c, name, ss, map, p);
	stream_new(s, name, p);
	return s;
}

EXPORT pa_stream *pa_stream_new_extended(pa_context *c, const char *name,
					 pa_format_info *const *formats, unsigned int n_formats,
					 pa_proplist *p)
{
	__auto_type real = REAL_IN(pulse, pa_stream_new_extended);
	if (!real)
		return NULL;
	pa_stream *s = real(c, name, formats, n_formats, p);
	stream_new(s, name, p);
	return s;
}

/* ------------------------------------------------------------ trampolines */

struct pulse_ctx {
	pa_stream_request_cb_t cb;   /* the program's callback and data */
	void *userdata;
	pa_stream *s;
	struct cb_source *src;
	size_t frame_size;           /* 0 until the spec was read */
	uint32_t rate;
};
#define NCTX 1024u
static struct pulse_ctx ctxs[NCTX];
static unsigned nctx;

static void pulse_trampoline(pa_stream *s, size_t nbytes, void *userdata)
{
	struct pulse_ctx *c = userdata;
	if (unlikely(!c->frame_size)) {
		__auto_type get_spec = REAL_IN(pulse, pa_stream_get_sample_spec);
		__auto_type frame_size = REAL_IN(pulse, pa_frame_size);
		const pa_sample_spec *ss = get_spec && frame_size ? get_spec(s) : NULL;
		size_t fs = ss ? frame_size(ss) : 0;
		if (fs && ss->rate) {
			c->rate = ss->rate;
			c->frame_size = fs;
		}
	}
	uint32_t frames = c->frame_size ? (uint32_t)(nbytes / c->frame_size) : 0;
	audio_cb_begin(c->src);
	c->cb(s, nbytes, c->userdata);
	audio_cb_end(c->src, frames, c->rate);
}

/* The source of stream s: its own, else that of an earlier stream of the same name (a
 * program that re-creates its stream keeps one source), else a new one. Lock held. */
static struct cb_source *stream_source(pa_stream *s)
{
	struct stream_ent *e = stream_find(s);
	if (e && e->src)
		return e->src;
	const char *name = e ? e->name : "pulse";
	struct cb_source *src = NULL;
	for (unsigned i = 0; i < nstreams && !src; i++)
		if (streams[i].src && !strcmp(streams[i].name, name))
			src = streams[i].src;
	if (!src) {
		runtime_guard++;
		src = audio_source_new(AP_API_PULSE, name);
		runtime_guard--;
	}
	if (e)
		e->src = src;
	return src;
}

/* The context to register for (s, cb, userdata); NULL: register the program's own. */
static struct pulse_ctx *ctx_for(pa_stream *s, pa_stream_request_cb_t cb, void *userdata)
{
	/* The trampoline's helpers, looked up here so that no callback takes the loader's
	 * lock to find them. */
	__auto_type get_spec = REAL_IN(pulse, pa_stream_get_sample_spec);
	__auto_type frame_size = REAL_IN(pulse, pa_frame_size);
	(void)get_spec;
	(void)frame_size;
	if (!s || !cb || cb == pulse_trampoline)
		return NULL;
	struct pulse_ctx *c = NULL;
	int full = 0;
	tables_acquire();
	struct cb_source *src = stream_source(s);
	for (unsigned i = 0; src && i < nctx && !c; i++)
		if (ctxs[i].s == s && ctxs[i].cb == cb && ctxs[i].userdata == userdata &&
		    ctxs[i].src == src)
			c = &ctxs[i];
	if (src && !c) {
		if (nctx < NCTX) {
			c = &ctxs[nctx++];
			c->cb = cb;
			c->userdata = userdata;
			c->s = s;
			c->src = src;
			c->frame_size = 0;
		} else {
			full = 1;
		}
	}
	tables_release();
	static int warned;
	if (full && !__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
		log_msg("more than %u PulseAudio callbacks: later ones are not timed", NCTX);
	return c;
}

EXPORT void pa_stream_set_write_callback(pa_stream *s, pa_stream_request_cb_t cb, void *userdata)
{
	__auto_type real = REAL_IN(pulse, pa_stream_set_write_callback);
	if (!real)
		return;
	struct pulse_ctx *c = ctx_for(s, cb, userdata);
	if (c)
		real(s, pulse_trampoline, c);
	else
		real(s, cb, userdata);
}

EXPORT void pa_stream_set_read_callback(pa_stream *s, pa_stream_request_cb_t cb, void *userdata)
{
	__auto_type real = REAL_IN(pulse, pa_stream_set_read_callback);
	if (!real)
		return;
	struct pulse_ctx *c = ctx_for(s, cb, userdata);
	if (c)
		real(s, pulse_trampoline, c);
	else
		real(s, cb, userdata);
}

/* ------------------------------------------------------------ the hook table */

const struct ap_hook hooks_pulse[] = {
	HOOK(pa_stream_new_with_proplist), HOOK(pa_stream_new_extended),
	HOOK(pa_stream_set_write_callback), HOOK(pa_stream_set_read_callback),
	HELPER_HOOK(pa_stream_get_sample_spec), HELPER_HOOK(pa_frame_size),
	HELPER_HOOK(pa_proplist_gets),
	{ NULL, NULL, NULL }
};
