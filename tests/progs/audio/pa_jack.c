/* pa_jack.c - a PortAudio program on the JACK host API (PortAudio's own JACK client
 * calls the program's callback from its JACK process callback), for
 * tests/integration/t_portaudio.sh.
 *
 *   pa_jack [default]
 *
 * Opens a stereo float output stream with Pa_OpenStream on the JACK host API's default
 * output device, 48 kHz, 512 frames per buffer; with "default", Pa_OpenDefaultStream
 * on PortAudio's default output device instead, whatever it is (exit 4 when there is
 * none, it cannot be opened, or it runs fewer than TOTAL callbacks in 10 s). Callbacks 1..CB_ALLOC each
 * call pa_alloc(): malloc(64) and free (1 block, 64 bytes, 1 free per callback).
 * Outside: 2 x malloc(777) in out_pa(). Runs until TOTAL callbacks, stops and closes
 * the stream, prints "callbacks N". Exit 3 when PortAudio has no JACK host API. */
#include "../progs.h"

#include <portaudio.h>
#include <stdio.h>

#define CB_ALLOC 9
#define TOTAL    30

static volatile int callbacks;
static void *volatile keep[2];

NOINLINE static void pa_alloc(void)
{
	keep[0] = malloc(64);
	free(keep[0]);
}

static int callback(const void *in, void *out, unsigned long frames,
		    const PaStreamCallbackTimeInfo *ti, PaStreamCallbackFlags flags, void *user)
{
	(void)in; (void)ti; (void)flags;
	PROG_CHECK(user == (void *)&callbacks, "callback: userData not passed through");
	int n = callbacks + 1;
	memset(out, 0, frames * 2 * sizeof(float));
	if (n <= CB_ALLOC)
		pa_alloc();
	callbacks = n;
	return paContinue;
}

NOINLINE static void out_pa(void)
{
	for (int i = 0; i < 2; i++)
		keep[1] = malloc(777);
}

int main(int argc, char **argv)
{
	int dflt = argc > 1 && strcmp(argv[1], "default") == 0;
	PROG_CHECK(Pa_Initialize() == paNoError, "Pa_Initialize");
	PaStream *s;
	PaError e;
	if (dflt) {
		out_pa();
		e = Pa_OpenDefaultStream(&s, 0, 2, paFloat32, 48000, 512, callback, (void *)&callbacks);
		if (e != paNoError) {
			printf("no default device: %s\n", Pa_GetErrorText(e));
			Pa_Terminate();
			return 4;
		}
		goto run;
	}
	PaHostApiIndex api = Pa_HostApiTypeIdToHostApiIndex(paJACK);
	if (api < 0) {
		printf("no JACK host API\n");
		Pa_Terminate();
		return 3;
	}
	const PaHostApiInfo *hi = Pa_GetHostApiInfo(api);
	PROG_CHECK(hi && hi->defaultOutputDevice >= 0, "JACK host API has no output device");
	PaStreamParameters out = {
		.device = hi->defaultOutputDevice, .channelCount = 2, .sampleFormat = paFloat32,
		.suggestedLatency = Pa_GetDeviceInfo(hi->defaultOutputDevice)->defaultLowOutputLatency,
	};
	out_pa();
	e = Pa_OpenStream(&s, NULL, &out, 48000, 512, paNoFlag, callback, (void *)&callbacks);
	if (e != paNoError) {
		fprintf(stderr, "Pa_OpenStream: %s\n", Pa_GetErrorText(e));
		return 1;
	}
run:
	PROG_CHECK(Pa_StartStream(s) == paNoError, "Pa_StartStream");
	for (int i = 0; callbacks < TOTAL && i < (dflt ? 1000 : 3000); i++)
		Pa_Sleep(10);
	if (dflt && callbacks < TOTAL) {   /* a default device that does not run: not ours */
		printf("the default device ran %d callbacks in 10 s\n", callbacks);
		return 4;
	}
	PROG_CHECK(callbacks >= TOTAL, "not enough callbacks in 30 s");
	Pa_StopStream(s);
	Pa_CloseStream(s);
	Pa_Terminate();
	printf("callbacks %d\n", callbacks);
	return 0;
}
