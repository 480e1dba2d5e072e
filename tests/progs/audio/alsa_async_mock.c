/* alsa_async_mock.c - a stand-in for the part of libasound that async handlers use,
 * for t_alsa.sh: a real PCM's async handler needs a sound card (the kernel sends the
 * SIGIO; the null and ioplug PCMs have no async support). Built as a shared library
 * (libasound_mock.so) that alsa_async.c links instead of libasound, so the preload's
 * wrappers find these as the "real" functions.
 *
 * snd_async_add_pcm_handler() keeps the callback and its private data and installs a
 * SIGIO handler that calls every kept callback, as alsa-lib's snd_async_handler()
 * does; mock_async_fire() raises SIGIO. snd_pcm_name() names every PCM "mockpcm". */
#include <alsa/asoundlib.h>
#include <signal.h>
#include <stdlib.h>

struct _snd_async_handler {
	snd_async_callback_t callback;
	void *private_data;
	snd_pcm_t *pcm;
};

static struct _snd_async_handler handlers[4];
static int nhandlers;

static void on_sigio(int sig)
{
	(void)sig;
	for (int i = 0; i < nhandlers; i++)
		handlers[i].callback(&handlers[i]);
}

int snd_async_add_pcm_handler(snd_async_handler_t **handler, snd_pcm_t *pcm,
			      snd_async_callback_t callback, void *private_data)
{
	if (nhandlers == 4)
		return -ENOMEM;
	struct _snd_async_handler *h = &handlers[nhandlers++];
	h->callback = callback;
	h->private_data = private_data;
	h->pcm = pcm;
	struct sigaction sa = { 0 };
	sa.sa_handler = on_sigio;
	sigaction(SIGIO, &sa, NULL);
	*handler = h;
	return 0;
}

void *snd_async_handler_get_callback_private(snd_async_handler_t *handler)
{
	return handler->private_data;
}

snd_pcm_t *snd_async_handler_get_pcm(snd_async_handler_t *handler)
{
	return handler->pcm;
}

const char *snd_pcm_name(snd_pcm_t *pcm)
{
	(void)pcm;
	return "mockpcm";
}

void mock_async_fire(void)
{
	raise(SIGIO);
}
