/* eq.h - the 8-band parametric equaliser: RBJ ("Audio EQ Cookbook") biquads in
 * transposed direct form II, stereo float, whose settings may change while audio runs.
 *
 * Threads: one control thread calls eq_set_band(); the audio callback calls
 * eq_process(). They share two coefficient sets: the control thread fills the set the
 * callback is not using and publishes its index atomically; the callback acknowledges
 * the index it loaded at the start of each block, and the control thread writes a set
 * again only after that acknowledgement - so the callback never sees a half-written set
 * and never waits. */
#ifndef DSP_EQ_H
#define DSP_EQ_H

#include <stdatomic.h>
#include <stdint.h>

#define EQ_BANDS 8
#define EQ_CHANNELS 2

enum eq_type { EQ_LOWSHELF, EQ_PEAK, EQ_HIGHSHELF };

struct eq_band {
	enum eq_type type;
	float freq;                       /* centre or corner frequency, Hz */
	float gain_db;                    /* boost (+) or cut (-) */
	float q;                          /* bandwidth (peak) or shelf slope (shelves) */
};

struct biquad {                           /* normalised so that a0 = 1 */
	float b0, b1, b2, a1, a2;
};

struct eq_coefs {
	struct biquad band[EQ_BANDS];
};

struct eq {
	float rate;                               /* sample rate, Hz */
	struct eq_band band[EQ_BANDS];            /* control thread's settings */
	struct eq_coefs set[2];                   /* double buffer */
	_Atomic unsigned active;                  /* set the callback must use (control writes) */
	_Atomic unsigned acked;                   /* set the callback last loaded (callback writes) */
	_Atomic uint64_t updates;                 /* published changes */
	float z[EQ_CHANNELS][EQ_BANDS][2];        /* filter state: callback only */
};

/* The default curve (a gentle "smile" with a 1 kHz dip) at rate Hz. */
void eq_init(struct eq *eq, float rate);

/* Control thread: change one band. 0 when published; -1 when the callback has not yet
 * picked up the previous change (try again a little later; nothing was changed). */
int eq_set_band(struct eq *eq, unsigned index, const struct eq_band *band);

/* Callback: filter left and right in place, n frames. Never blocks or allocates. */
void eq_process(struct eq *eq, float *left, float *right, unsigned n);

/* Design one biquad (in double precision) for band at rate. */
void biquad_design(struct biquad *c, const struct eq_band *band, float rate);
/* Run one biquad in place over n samples with state z[2]. */
void biquad_run(const struct biquad *c, float z[2], float *x, unsigned n);

#endif
