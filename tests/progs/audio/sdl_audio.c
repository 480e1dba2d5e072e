/* sdl_audio.c - an SDL2 program playing through an audio callback, for
 * tests/integration/t_sdl.sh (run with SDL_AUDIODRIVER=dummy or disk).
 *
 *   sdl_audio device|legacy
 *
 * device: SDL_OpenAudioDevice(NULL, 0, &want, &have, 0); legacy: SDL_OpenAudio(&want,
 * NULL). 48 kHz, S16, stereo, 512 frames. Built with -lSDL2, or with -DUSE_DLOPEN
 * without it (dlopen("libSDL2-2.0.so.0") and dlsym of every function it calls).
 * Checks that the obtained spec shows the program's own callback and userdata, and in
 * legacy mode that SDL computed desired.size (2048). Callbacks 1..CB_ALLOC each call
 * sdl_alloc(): malloc(32) and malloc(48), both freed (2 blocks, 80 bytes, 2 frees).
 * Outside: 3 x malloc(555) in out_sdl(). Runs until TOTAL callbacks, closes the
 * device, prints "callbacks N". */
#include "../progs.h"

#include <SDL2/SDL.h>
#include <stdio.h>
#ifdef USE_DLOPEN
#include <dlfcn.h>
#endif

#define CB_ALLOC 8
#define TOTAL    25

#ifdef USE_DLOPEN
#define S(name) p_##name
#define DECL(name) static __typeof__(&name) p_##name
DECL(SDL_Init); DECL(SDL_Quit); DECL(SDL_GetError); DECL(SDL_OpenAudioDevice);
DECL(SDL_PauseAudioDevice); DECL(SDL_CloseAudioDevice); DECL(SDL_OpenAudio);
DECL(SDL_PauseAudio); DECL(SDL_CloseAudio);
#define LOAD(h, name) do { \
	*(void **)&p_##name = dlsym(h, #name); \
	PROG_CHECK(p_##name != NULL, "dlsym " #name); \
} while (0)
static void load_sdl(void)
{
	void *h = dlopen("libSDL2-2.0.so.0", RTLD_NOW | RTLD_LOCAL);
	PROG_CHECK(h != NULL, "dlopen libSDL2-2.0.so.0");
	LOAD(h, SDL_Init); LOAD(h, SDL_Quit); LOAD(h, SDL_GetError); LOAD(h, SDL_OpenAudioDevice);
	LOAD(h, SDL_PauseAudioDevice); LOAD(h, SDL_CloseAudioDevice); LOAD(h, SDL_OpenAudio);
	LOAD(h, SDL_PauseAudio); LOAD(h, SDL_CloseAudio);
}
#else
#define S(name) name
static void load_sdl(void) { }
#endif

static volatile int callbacks;
static void *volatile keep[3];

NOINLINE static void sdl_alloc(void)
{
	keep[0] = malloc(32);
	keep[1] = malloc(48);
	free(keep[0]);
	free(keep[1]);
}

static void SDLCALL callback(void *user, Uint8 *stream, int len)
{
	PROG_CHECK(user == (void *)&callbacks, "callback: userdata not passed through");
	int n = callbacks + 1;
	memset(stream, 0, (size_t)len);
	if (n <= CB_ALLOC)
		sdl_alloc();
	callbacks = n;
}

NOINLINE static void out_sdl(void)
{
	for (int i = 0; i < 3; i++)
		keep[2] = malloc(555);
}

static void wait_callbacks(void)
{
	for (int i = 0; callbacks < TOTAL && i < 3000; i++)
		usleep(10000);
	PROG_CHECK(callbacks >= TOTAL, "not enough callbacks in 30 s");
}

int main(int argc, char **argv)
{
	int legacy = argc > 1 && strcmp(argv[1], "legacy") == 0;
	load_sdl();
	if (S(SDL_Init)(SDL_INIT_AUDIO) != 0) {
		fprintf(stderr, "SDL_Init: %s\n", S(SDL_GetError)());
		return 1;
	}
	out_sdl();
	SDL_AudioSpec want, have;
	memset(&want, 0, sizeof(want));
	want.freq = 48000;
	want.format = AUDIO_S16SYS;
	want.channels = 2;
	want.samples = 512;
	want.callback = callback;
	want.userdata = (void *)&callbacks;
	if (legacy) {
		if (S(SDL_OpenAudio)(&want, NULL) != 0) {
			fprintf(stderr, "SDL_OpenAudio: %s\n", S(SDL_GetError)());
			return 1;
		}
		PROG_CHECK(want.size == 2048, "desired.size not computed by SDL_OpenAudio");
		PROG_CHECK(want.callback == callback && want.userdata == (void *)&callbacks,
			   "desired callback/userdata changed");
		S(SDL_PauseAudio)(0);
		wait_callbacks();
		S(SDL_CloseAudio)();
	} else {
		memset(&have, 0, sizeof(have));
		SDL_AudioDeviceID dev = S(SDL_OpenAudioDevice)(NULL, 0, &want, &have, 0);
		if (!dev) {
			fprintf(stderr, "SDL_OpenAudioDevice: %s\n", S(SDL_GetError)());
			return 1;
		}
		PROG_CHECK(have.callback == callback && have.userdata == (void *)&callbacks,
			   "obtained spec does not show the program's callback/userdata");
		S(SDL_PauseAudioDevice)(dev, 0);
		wait_callbacks();
		S(SDL_CloseAudioDevice)(dev);
	}
	S(SDL_Quit)();
	printf("callbacks %d\n", callbacks);
	return 0;
}
