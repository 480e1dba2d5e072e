/* sdl_twocopies.c - two copies of libSDL2 in one process, for
 * tests/integration/t_plugin_audio.sh (SDL_AUDIODRIVER=dummy). The program is linked
 * with -lSDL2 (copy A, global scope) and later loads a second copy from another file
 * by path (copy B: argv[1], a copy of libSDL2-2.0.so.0), RTLD_LOCAL, looking its
 * functions up with dlsym. Each copy has its own state: copy A's functions must never
 * get copy B's calls (before, the preload's dlsym hook handed out its wrapper for
 * B's SDL_OpenAudioDevice, which called A's).
 *
 *   sdl_twocopies PATH-TO-COPY
 *
 * A: SDL_Init, SDL_OpenAudioDevice with callback_a (callbacks 1..CB_ALLOC call
 * a_alloc(): malloc(40), freed), TOTAL callbacks, close, SDL_Quit. Then B: the same
 * with callback_b (no allocation). Prints "b_is_copy 1" when B's SDL_Init lies in
 * PATH-TO-COPY, then "a N" and "b N" (callbacks of each). */
#include "../progs.h"

#include <SDL2/SDL.h>
#include <dlfcn.h>
#include <stdio.h>

#define CB_ALLOC 6
#define TOTAL    20

/* count_*: the callbacks the program waits for (stdout: the same every run); calls_*:
 * every call, also the one or two SDL may make between the wait's end and the close
 * (written to $SDL_TWOCOPIES_CALLS, for the test to compare with the profile). */
static volatile int count_a, count_b, calls_a, calls_b;
static void *volatile keep;

NOINLINE static void a_alloc(void)
{
	keep = malloc(40);
	free(keep);
}

static void SDLCALL callback_a(void *user, Uint8 *stream, int len)
{
	PROG_CHECK(user == (void *)&count_a, "callback_a: userdata");
	memset(stream, 0, (size_t)len);
	if (calls_a < CB_ALLOC)
		a_alloc();
	calls_a = calls_a + 1;
	if (count_a < TOTAL)
		count_a = count_a + 1;
}

static void SDLCALL callback_b(void *user, Uint8 *stream, int len)
{
	PROG_CHECK(user == (void *)&count_b, "callback_b: userdata");
	memset(stream, 0, (size_t)len);
	calls_b = calls_b + 1;
	if (count_b < TOTAL)
		count_b = count_b + 1;
}

struct sdl {   /* the functions of one copy */
	__typeof__(&SDL_Init) init;
	__typeof__(&SDL_Quit) quit;
	__typeof__(&SDL_OpenAudioDevice) open;
	__typeof__(&SDL_PauseAudioDevice) pause;
	__typeof__(&SDL_CloseAudioDevice) close;
	__typeof__(&SDL_GetError) error;
};

static void play(const struct sdl *s, SDL_AudioCallback cb, volatile int *count, const char *which)
{
	PROG_CHECK(s->init(SDL_INIT_AUDIO) == 0, "SDL_Init");
	SDL_AudioSpec want, have;
	memset(&want, 0, sizeof(want));
	want.freq = 48000;
	want.format = AUDIO_S16SYS;
	want.channels = 2;
	want.samples = 512;
	want.callback = cb;
	want.userdata = (void *)count;
	SDL_AudioDeviceID dev = s->open(NULL, 0, &want, &have, 0);
	if (!dev) {
		fprintf(stderr, "%s: SDL_OpenAudioDevice: %s\n", which, s->error());
		exit(1);
	}
	s->pause(dev, 0);
	for (int i = 0; *count < TOTAL && i < 3000; i++)
		usleep(10000);
	PROG_CHECK(*count >= TOTAL, "not enough callbacks in 30 s");
	s->close(dev);
	s->quit();
}

#define LOAD(h, f, name) do { \
	*(void **)&(f) = dlsym(h, #name); \
	PROG_CHECK((f) != NULL, "dlsym " #name); \
} while (0)

int main(int argc, char **argv)
{
	PROG_CHECK(argc == 2, "usage: sdl_twocopies PATH-TO-COPY");
	struct sdl a = { SDL_Init, SDL_Quit, SDL_OpenAudioDevice, SDL_PauseAudioDevice,
			 SDL_CloseAudioDevice, SDL_GetError };
	play(&a, callback_a, &count_a, "copy A");

	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	PROG_CHECK(h != NULL, "dlopen the copy");
	struct sdl b;
	LOAD(h, b.init, SDL_Init); LOAD(h, b.quit, SDL_Quit); LOAD(h, b.open, SDL_OpenAudioDevice);
	LOAD(h, b.pause, SDL_PauseAudioDevice); LOAD(h, b.close, SDL_CloseAudioDevice);
	LOAD(h, b.error, SDL_GetError);
	Dl_info info;
	printf("b_is_copy %d\n", dladdr((void *)b.init, &info) && info.dli_fname &&
	       strcmp(info.dli_fname, argv[1]) == 0 && (void *)b.init != (void *)SDL_Init);
	play(&b, callback_b, &count_b, "copy B");
	printf("a %d\nb %d\n", count_a, count_b);
	const char *calls = getenv("SDL_TWOCOPIES_CALLS");
	if (calls) {
		FILE *f = fopen(calls, "w");
		PROG_CHECK(f != NULL, "fopen SDL_TWOCOPIES_CALLS");
		fprintf(f, "%d %d\n", calls_a, calls_b);
		PROG_CHECK(fclose(f) == 0, "fclose SDL_TWOCOPIES_CALLS");
	}
	return 0;
}
