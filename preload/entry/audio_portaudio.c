/* audio_portaudio.c - PortAudio entry points: Pa_OpenStream and Pa_OpenDefaultStream
 * with a callback (a NULL callback is the blocking API: nothing to wrap).
 *
 * The program's callback and userData go into a context allocated at open time; the
 * stream gets our trampoline and the context. The source is made once the open has
 * succeeded (a failed open leaves no empty source behind); until then the trampoline
 * passes straight through. Deadline: each call's frameCount / the stream's sample rate
 * (Pa_GetStreamInfo after the open, else the rate asked for). statusFlags with an input
 * or output underflow or overflow count as backend xruns. Source name: "PortAudio",
 * the host API and the device ("PortAudio/JACK Audio Connection Kit/system").
 *
 * Nesting: PortAudio's JACK host API calls the program's callback from its own JACK
 * process callback, which audio_jack.c wraps as well. audio_cb_begin/end time only the
 * innermost callback, so the PortAudio source gets the cycles that ran the user's
 * callback, with its allocations; PortAudio's JACK client (a "jack" source named after
 * that client, "PortAudio") is timed only in the cycles in which PortAudio called no
 * user callback (before start, after stop) and is charged only with what PortAudio's
 * own code does around the user's callback (its pthread_mutex_trylock warnings).
 * Pa_OpenDefaultStream calls Pa_OpenStream through the PLT: the trampoline is
 * recognised there and not wrapped twice.
 *
 * Contexts are never freed (one per stream opened). */
#include "audio.h"
#include "interpose.h"

#include <portaudio.h>
#include <stdio.h>
#include <stdlib.h>

SLOT(Pa_OpenStream); SLOT(Pa_OpenDefaultStream);
/* helpers the wrappers call */
SLOT(Pa_GetDeviceInfo); SLOT(Pa_GetHostApiInfo); SLOT(Pa_GetStreamInfo);
SLOT(Pa_GetDefaultOutputDevice); SLOT(Pa_GetDefaultInputDevice);

struct pactx {
	PaStreamCallback *cb;             /* the program's callback and userData */
	void *user;
	struct cb_source *src;            /* NULL until the open succeeded */
	uint32_t rate;
};

#define XRUN_FLAGS (paInputUnderflow | paInputOverflow | paOutputUnderflow | paOutputOverflow)

static int pa_tramp(const void *in, void *out, unsigned long frames,
		    const PaStreamCallbackTimeInfo *ti, PaStreamCallbackFlags flags, void *arg)
{
	struct pactx *c = arg;
	struct cb_source *s = __atomic_load_n(&c->src, __ATOMIC_ACQUIRE);
	if (unlikely(!s))
		return c->cb(in, out, frames, ti, flags, c->user);
	audio_cb_begin(s);
	int r = c->cb(in, out, frames, ti, flags, c->user);
	audio_cb_end(s, (uint32_t)frames, c->rate);
	if (unlikely(flags & XRUN_FLAGS))
		audio_xrun(s);
	return r;
}

static struct pactx *ctx_new(PaStreamCallback *cb, void *user)
{
	runtime_guard++;
	struct pactx *c = calloc(1, sizeof(*c));
	runtime_guard--;
	if (c) {
		c->cb = cb;
		c->user = user;
	}
	return c;
}

static void ctx_free(struct pactx *c)
{
	runtime_guard++;
	free(c);
	runtime_guard--;
}

/* After a successful open: the source, named after host API and device. */
static void ctx_ready(struct pactx *c, PaStream *stream, PaDeviceIndex dev, double rate,
		      unsigned long frames)
{
	__auto_type devinfo = REAL_IN(portaudio, Pa_GetDeviceInfo);
	__auto_type apiinfo = REAL_IN(portaudio, Pa_GetHostApiInfo);
	__auto_type sinfo = REAL_IN(portaudio, Pa_GetStreamInfo);
	const PaDeviceInfo *di = dev >= 0 && devinfo ? devinfo(dev) : NULL;
	const PaHostApiInfo *hi = di && apiinfo ? apiinfo(di->hostApi) : NULL;
	char name[64];
	snprintf(name, sizeof(name), "PortAudio%s%s%s%s", hi && hi->name ? "/" : "",
		 hi && hi->name ? hi->name : "", di && di->name ? "/" : "",
		 di && di->name ? di->name : "");
	const PaStreamInfo *si = sinfo && stream ? sinfo(stream) : NULL;
	if (si && si->sampleRate > 0)
		rate = si->sampleRate;
	c->rate = rate > 0 && rate < 4e9 ? (uint32_t)(rate + 0.5) : 0;
	struct cb_source *s = audio_source_new(AP_API_PORTAUDIO, name);
	if (s)
		audio_source_format(s, (uint32_t)frames, c->rate);
	__atomic_store_n(&c->src, s, __ATOMIC_RELEASE);
}

EXPORT PaError Pa_OpenStream(PaStream **stream, const PaStreamParameters *in,
			     const PaStreamParameters *out, double rate, unsigned long frames,
			     PaStreamFlags flags, PaStreamCallback *cb, void *user)
{
	__auto_type real = REAL_IN(portaudio, Pa_OpenStream);
	if (!real)
		return paNotInitialized;
	struct pactx *c;
	if (!cb || cb == pa_tramp || !(c = ctx_new(cb, user)))   /* never wrap twice */
		return real(stream, in, out, rate, frames, flags, cb, user);
	PaError r = real(stream, in, out, rate, frames, flags, pa_tramp, c);
	if (r != paNoError) {
		ctx_free(c);
		return r;
	}
	ctx_ready(c, stream ? *stream : NULL, out ? out->device : in ? in->device : paNoDevice,
		  rate, frames);
	return r;
}

EXPORT PaError Pa_OpenDefaultStream(PaStream **stream, int nin, int nout, PaSampleFormat fmt,
				    double rate, unsigned long frames, PaStreamCallback *cb,
				    void *user)
{
	__auto_type real = REAL_IN(portaudio, Pa_OpenDefaultStream);
	if (!real)
		return paNotInitialized;
	struct pactx *c;
	if (!cb || cb == pa_tramp || !(c = ctx_new(cb, user)))
		return real(stream, nin, nout, fmt, rate, frames, cb, user);
	PaError r = real(stream, nin, nout, fmt, rate, frames, pa_tramp, c);
	if (r != paNoError) {
		ctx_free(c);
		return r;
	}
	__auto_type dout = REAL_IN(portaudio, Pa_GetDefaultOutputDevice);
	__auto_type din = REAL_IN(portaudio, Pa_GetDefaultInputDevice);
	PaDeviceIndex dev = nout > 0 ? (dout ? dout() : paNoDevice) : (din ? din() : paNoDevice);
	ctx_ready(c, stream ? *stream : NULL, dev, rate, frames);
	return r;
}

const struct ap_hook hooks_portaudio[] = {
	HOOK(Pa_OpenStream), HOOK(Pa_OpenDefaultStream),
	/* helpers the wrappers call */
	HELPER_HOOK(Pa_GetDeviceInfo), HELPER_HOOK(Pa_GetHostApiInfo),
	HELPER_HOOK(Pa_GetStreamInfo), HELPER_HOOK(Pa_GetDefaultOutputDevice),
	HELPER_HOOK(Pa_GetDefaultInputDevice),
	{ NULL, NULL, NULL }
};
