/* audio_pipewire.c - PipeWire stream and filter `process` events. pw_stream_add_listener
 * and pw_filter_add_listener are wrapped: when the program's events have a `process`,
 * we add a listener of our own just before the program's, whose only events are
 * `process` (a trampoline: audio_cb_begin, the program's process with the program's
 * data, audio_cb_end) and io_changed; the program's listener is added right after with
 * a copy of its events without `process` (same data, so all its other events reach it
 * as before). Both go through the real add_listener.
 *
 * Why not a listener before and one after the program's: a stream or filter flagged
 * RT_PROCESS calls only the first listener that has a `process` (its rt_callbacks),
 * never the hook list, so a timing listener of our own in front would replace the
 * program's process. With one trampoline listener, whichever path PipeWire takes
 * (the rt_callbacks on its data thread, or the hook list on the main loop) reaches the
 * program's process through it, at the program's place in the order.
 *
 * An events struct of a newer version than the headers we are built with is passed
 * through untouched (we could not copy what we do not know). pw_stream_new_simple and
 * pw_filter_new_simple add the program's listener through libpipewire's PLT, so they
 * reach the wrappers too.
 *
 * Deadline: the graph's quantum, clock.duration / clock.rate of the spa_io_position
 * the node runs with. A filter's process receives it; a stream's comes with the
 * io_changed(SPA_IO_Position) event, which our listener receives. (A stream's
 * pw_buffer.requested is the converter's frame count at the stream's own rate and is
 * only seen inside pw_stream_dequeue_buffer; the quantum is the cycle's real budget.)
 *
 * When the program removes its listener (spa_hook_remove, an inline function we never
 * see), ours stays in the list: the trampoline checks that the program's hook still
 * follows ours (two pointer loads) and, once it does not, calls nothing (the program
 * may have freed its data). Our hooks and contexts live in a static table (no
 * allocation): after pw_stream_destroy/pw_filter_destroy (wrapped; the hooks are off
 * the list by then and process is never called again) a context is reused, with its
 * source when the new stream has the same name (a program re-creating its stream keeps
 * one source). */
#include "audio.h"
#include "interpose.h"
#include "log.h"
#include "runtime.h"

#include <pipewire/filter.h>
#include <pipewire/stream.h>
#include <spa/node/io.h>
#include <spa/utils/hook.h>

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

SLOT(pw_stream_add_listener); SLOT(pw_filter_add_listener);
SLOT(pw_stream_destroy); SLOT(pw_filter_destroy);
SLOT(pw_stream_get_name); SLOT(pw_filter_get_name);
SLOT(pw_stream_new_simple); SLOT(pw_filter_new_simple); SLOT(pw_stream_new); SLOT(pw_filter_new);

/* ------------------------------------------------------------ contexts */

struct pw_ctx {
	struct spa_hook ours;        /* our listener, just before the program's */
	struct spa_hook *user;       /* the program's hook (compared, never dereferenced) */
	void *owner;                 /* the stream or filter; NULL: free */
	void *data;                  /* the program's data */
	union {                      /* the program's events without process */
		struct pw_stream_events stream;
		struct pw_filter_events filter;
	} ev;
	void (*stream_process)(void *data);
	void (*filter_process)(void *data, struct spa_io_position *position);
	struct cb_source *src;       /* kept when the context is freed */
	char name[64];               /* the source's name */
	struct spa_io_position *pos; /* a stream's position (io_changed) */
};
#define NCTX 256u
static struct pw_ctx ctxs[NCTX];
static unsigned nctx;

/* The table changes only when a program adds a listener or destroys a stream or
 * filter (never in a trampoline): a spinlock keeps that simple. */
static char ctx_lock;
static void ctx_acquire(void)
{
	while (__atomic_test_and_set(&ctx_lock, __ATOMIC_ACQUIRE))
		;
}
static void ctx_release(void)
{
	__atomic_clear(&ctx_lock, __ATOMIC_RELEASE);
}

/* A context for a process listener of `owner`: a free one (its stream or filter was
 * destroyed), preferably one whose source has this name (a program that re-creates
 * its stream keeps one source), else a new one. */
static struct pw_ctx *ctx_new(void *owner, const char *name)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", name && *name ? name : "pipewire");
	struct pw_ctx *c = NULL;
	ctx_acquire();
	for (unsigned i = 0; i < nctx; i++)
		if (!ctxs[i].owner && (!c || !strcmp(ctxs[i].name, buf)))
			c = &ctxs[i];
	if (!c && nctx < NCTX)
		c = &ctxs[nctx++];
	if (c) {
		c->owner = owner;
		if (!c->src || strcmp(c->name, buf)) {
			runtime_guard++;
			c->src = audio_source_new(AP_API_PIPEWIRE, buf);
			runtime_guard--;
			memcpy(c->name, buf, sizeof(buf));
		}
		c->pos = NULL;
		if (!c->src) {
			c->owner = NULL;
			c = NULL;
		}
	}
	ctx_release();
	static int warned;
	if (!c && nctx >= NCTX && !__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
		log_msg("more than %u PipeWire process listeners: later ones are not timed", NCTX);
	return c;
}

/* After the real pw_stream_destroy/pw_filter_destroy: the owner's hooks are off its
 * list and its process is never called again, so its contexts are free. */
static void ctx_free_owner(void *owner)
{
	ctx_acquire();
	for (unsigned i = 0; i < nctx; i++)
		if (ctxs[i].owner == owner)
			ctxs[i].owner = NULL;
	ctx_release();
}

/* The cycle's quantum from the graph position. */
static inline void pos_format(const struct spa_io_position *pos, uint32_t *frames, uint32_t *rate)
{
	*frames = *rate = 0;
	if (pos && pos->clock.rate.denom && pos->clock.rate.num) {
		*frames = (uint32_t)pos->clock.duration * pos->clock.rate.num;
		*rate = pos->clock.rate.denom;
	}
}

/* Is the program's listener still right after ours? When PipeWire calls the hook list,
 * its cursor (spa_list_for_each_cursor) sits right after the hook being called, so the
 * program's hook is the next one or the one after it. */
static inline int user_present(const struct pw_ctx *c)
{
	const struct spa_list *n = c->ours.link.next;
	return n == &c->user->link || n->next == &c->user->link;
}

/* ------------------------------------------------------------ streams */

static void stream_io_changed(void *data, uint32_t id, void *area, uint32_t size)
{
	struct pw_ctx *c = data;
	if (id == SPA_IO_Position)
		c->pos = area && size >= sizeof(struct spa_io_position) ? area : NULL;
}

static void stream_trampoline(void *data)
{
	struct pw_ctx *c = data;
	if (!user_present(c))
		return;
	audio_cb_begin(c->src);
	c->stream_process(c->data);
	uint32_t frames, rate;
	pos_format(c->pos, &frames, &rate);
	audio_cb_end(c->src, frames, rate);
}

static const struct pw_stream_events stream_ours = {
	.version = PW_VERSION_STREAM_EVENTS,
	.io_changed = stream_io_changed,
	.process = stream_trampoline,
};

/* Bytes of a pw_stream_events struct of version v (the members it has). */
static size_t stream_events_size(uint32_t v)
{
	return v == 0 ? offsetof(struct pw_stream_events, command) :
	       v == 1 ? offsetof(struct pw_stream_events, trigger_done) :
	       sizeof(struct pw_stream_events);
}

EXPORT void pw_stream_add_listener(struct pw_stream *stream, struct spa_hook *listener,
				   const struct pw_stream_events *events, void *data)
{
	__auto_type real = REAL_IN(pipewire, pw_stream_add_listener);
	if (!real)
		return;
	struct pw_ctx *c = NULL;
	if (stream && listener && events && events->process && events != &stream_ours &&
	    events->version <= PW_VERSION_STREAM_EVENTS) {
		__auto_type get_name = REAL_IN(pipewire, pw_stream_get_name);
		c = ctx_new(stream, get_name ? get_name(stream) : NULL);
	}
	if (!c) {
		real(stream, listener, events, data);
		return;
	}
	memcpy(&c->ev.stream, events, stream_events_size(events->version));
	c->ev.stream.process = NULL;
	c->stream_process = events->process;
	c->data = data;
	c->user = listener;
	real(stream, &c->ours, &stream_ours, c);
	real(stream, listener, &c->ev.stream, data);
}

EXPORT void pw_stream_destroy(struct pw_stream *stream)
{
	__auto_type real = REAL_IN(pipewire, pw_stream_destroy);
	if (!real)
		return;
	real(stream);
	ctx_free_owner(stream);
}

/* ------------------------------------------------------------ filters */

static void filter_trampoline(void *data, struct spa_io_position *position)
{
	struct pw_ctx *c = data;
	if (!user_present(c))
		return;
	audio_cb_begin(c->src);
	c->filter_process(c->data, position);
	uint32_t frames, rate;
	pos_format(position, &frames, &rate);
	audio_cb_end(c->src, frames, rate);
}

static const struct pw_filter_events filter_ours = {
	.version = PW_VERSION_FILTER_EVENTS,
	.process = filter_trampoline,
};

static size_t filter_events_size(uint32_t v)
{
	return v == 0 ? offsetof(struct pw_filter_events, command) : sizeof(struct pw_filter_events);
}

EXPORT void pw_filter_add_listener(struct pw_filter *filter, struct spa_hook *listener,
				   const struct pw_filter_events *events, void *data)
{
	__auto_type real = REAL_IN(pipewire, pw_filter_add_listener);
	if (!real)
		return;
	struct pw_ctx *c = NULL;
	if (filter && listener && events && events->process && events != &filter_ours &&
	    events->version <= PW_VERSION_FILTER_EVENTS) {
		__auto_type get_name = REAL_IN(pipewire, pw_filter_get_name);
		c = ctx_new(filter, get_name ? get_name(filter) : NULL);
	}
	if (!c) {
		real(filter, listener, events, data);
		return;
	}
	memcpy(&c->ev.filter, events, filter_events_size(events->version));
	c->ev.filter.process = NULL;
	c->filter_process = events->process;
	c->data = data;
	c->user = listener;
	real(filter, &c->ours, &filter_ours, c);
	real(filter, listener, &c->ev.filter, data);
}

EXPORT void pw_filter_destroy(struct pw_filter *filter)
{
	__auto_type real = REAL_IN(pipewire, pw_filter_destroy);
	if (!real)
		return;
	real(filter);
	ctx_free_owner(filter);
}

/* ------------------------------------------------------------ the hook table */

const struct ap_hook hooks_pipewire[] = {
	HOOK(pw_stream_add_listener), HOOK(pw_filter_add_listener),
	HOOK(pw_stream_destroy), HOOK(pw_filter_destroy),
	HELPER_HOOK(pw_stream_get_name), HELPER_HOOK(pw_filter_get_name),
	/* not wrapped (they reach the wrappers through libpipewire's PLT); listed so that a
	 * program looking them up with dlsym fills this table's slots from its handle */
	HELPER_HOOK(pw_stream_new_simple), HELPER_HOOK(pw_filter_new_simple),
	HELPER_HOOK(pw_stream_new), HELPER_HOOK(pw_filter_new),
	{ NULL, NULL, NULL }
};
