/* audio_sdl.c - SDL2 entry points: SDL_OpenAudio and SDL_OpenAudioDevice with a
 * callback (a NULL callback is the SDL_QueueAudio API: nothing to wrap).
 *
 * The desired spec is copied with our trampoline and a context in place of the
 * program's callback and userdata; the real function gets the copy. Afterwards the
 * obtained spec shows the program's own callback and userdata again, and for
 * SDL_OpenAudio without an obtained spec the fields SDL computes into the desired spec
 * (size, silence) are copied back, as SDL itself would have written them. The source
 * is made once the open succeeded; until then the trampoline passes straight through.
 * Deadline: each call's len / frame size over the rate, from the spec the callback sees
 * (obtained, else the copy). Source name: "<audio driver>/<device>" ("dummy/default").
 * SDL's audio thread is named SDLAudioP<n> (the source's "thread").
 *
 * SDL2 loads its backends' libraries (libjack, libpulse, libpipewire, libasound) with
 * dlopen and dlsym: audio_dl.c's hook makes their wrappers apply there too. Contexts are
 * never freed (one per device opened). */
#include "audio.h"
#include "interpose.h"

#include <SDL2/SDL_audio.h>
#include <stdio.h>
#include <stdlib.h>

SLOT(SDL_OpenAudio); SLOT(SDL_OpenAudioDevice);
/* helpers the wrappers call */
SLOT(SDL_GetCurrentAudioDriver);

struct sdlctx {
	SDL_AudioCallback cb;             /* the program's callback and userdata */
	void *user;
	struct cb_source *src;            /* NULL until the open succeeded */
	uint32_t rate, frame_bytes;
};

static void SDLCALL sdl_tramp(void *arg, Uint8 *stream, int len)
{
	struct sdlctx *c = arg;
	struct cb_source *s = __atomic_load_n(&c->src, __ATOMIC_ACQUIRE);
	if (unlikely(!s)) {
		c->cb(c->user, stream, len);
		return;
	}
	audio_cb_begin(s);
	c->cb(c->user, stream, len);
	audio_cb_end(s, c->frame_bytes && len > 0 ? (uint32_t)len / c->frame_bytes : 0, c->rate);
}

static struct sdlctx *ctx_new(const SDL_AudioSpec *desired)
{
	runtime_guard++;
	struct sdlctx *c = calloc(1, sizeof(*c));
	runtime_guard--;
	if (c) {
		c->cb = desired->callback;
		c->user = desired->userdata;
	}
	return c;
}

static void ctx_free(struct sdlctx *c)
{
	runtime_guard++;
	free(c);
	runtime_guard--;
}

/* After a successful open: the source, and the format the callback sees. */
static void ctx_ready(struct sdlctx *c, const SDL_AudioSpec *spec, const char *device)
{
	__auto_type drv = REAL_IN(sdl, SDL_GetCurrentAudioDriver);
	const char *d = drv ? drv() : NULL;
	char name[64];
	snprintf(name, sizeof(name), "%s/%s", d ? d : "SDL", device ? device : "default");
	c->rate = spec->freq > 0 ? (uint32_t)spec->freq : 0;
	c->frame_bytes = (uint32_t)(SDL_AUDIO_BITSIZE(spec->format) / 8) * spec->channels;
	struct cb_source *s = audio_source_new(AP_API_SDL, name);
	if (s)
		audio_source_format(s, spec->samples, c->rate);
	__atomic_store_n(&c->src, s, __ATOMIC_RELEASE);
}

EXPORT SDL_AudioDeviceID SDL_OpenAudioDevice(const char *device, int iscapture,
					     const SDL_AudioSpec *desired,
					     SDL_AudioSpec *obtained, int allowed_changes)
{
	__auto_type real = REAL_IN(sdl, SDL_OpenAudioDevice);
	if (!real)
		return 0;
	struct sdlctx *c;
	if (!desired || !desired->callback || desired->callback == sdl_tramp ||
	    !(c = ctx_new(desired)))   /* never wrap our own trampoline */
		return real(device, iscapture, desired, obtained, allowed_changes);
	SDL_AudioSpec copy = *desired;
	copy.callback = sdl_tramp;
	copy.userdata = c;
	SDL_AudioDeviceID id = real(device, iscapture, &copy, obtained, allowed_changes);
	if (!id) {
		ctx_free(c);
		return id;
	}
	if (obtained) {
		obtained->callback = c->cb;
		obtained->userdata = c->user;
	}
	ctx_ready(c, obtained ? obtained : &copy, device);
	return id;
}

EXPORT int SDL_OpenAudio(SDL_AudioSpec *desired, SDL_AudioSpec *obtained)
{
	__auto_type real = REAL_IN(sdl, SDL_OpenAudio);
	if (!real)
		return -1;
	struct sdlctx *c;
	if (!desired || !desired->callback || desired->callback == sdl_tramp ||
	    !(c = ctx_new(desired)))
		return real(desired, obtained);
	SDL_AudioSpec copy = *desired;
	copy.callback = sdl_tramp;
	copy.userdata = c;
	int r = real(&copy, obtained);
	if (r < 0) {
		ctx_free(c);
		return r;
	}
	if (obtained) {
		obtained->callback = c->cb;
		obtained->userdata = c->user;
	} else {
		desired->size = copy.size;   /* what SDL computes into desired */
		desired->silence = copy.silence;
	}
	ctx_ready(c, obtained ? obtained : &copy, NULL);
	return r;
}

const struct ap_hook hooks_sdl[] = {
	HOOK(SDL_OpenAudio), HOOK(SDL_OpenAudioDevice),
	/* helpers the wrappers call */
	HELPER_HOOK(SDL_GetCurrentAudioDriver),
	{ NULL, NULL, NULL }
};
