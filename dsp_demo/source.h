/* source.h - the signal dsp_demo processes: by default a generated test signal (a
 * logarithmic sine sweep, 20 Hz up to 20 kHz in 8 s, at -12 dBFS, repeating, plus white
 * noise at -46 dBFS), or a WAV file loaded at start-up and played in a loop.
 * source_render runs in the callback: no allocation, no blocking. */
#ifndef DSP_SOURCE_H
#define DSP_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "wav.h"

struct source {
	const struct wav_data *wav;       /* NULL: the generator */
	size_t pos;                       /* wav: next frame */
	/* the generator */
	double phase;                     /* radians, 0..2 pi */
	double freq;                      /* current sweep frequency, Hz */
	double f0, f1;                    /* sweep start and end */
	double step;                      /* frequency ratio per sample */
	double rate;
	float amp;                        /* sine amplitude */
	float noise;                      /* noise amplitude */
	uint64_t rng[2];                  /* xorshift64* states, one per channel */
};

void source_init_generator(struct source *s, unsigned rate);
void source_init_wav(struct source *s, const struct wav_data *wav);
/* Callback: n frames into left and right. */
void source_render(struct source *s, float *left, float *right, unsigned n);

#endif
