/* engine.h - dsp_demo's processing engine: the audio callback dsp_process() and the two
 * helper threads around it (a control thread that edits EQ settings and services the
 * fault injector, a writer thread that turns finished buffers into a WAV file).
 *
 * Threads: a backend calls dsp_process() from one audio thread at a time; everything
 * else is called from the main thread. The callback never allocates, locks, sleeps or
 * does I/O (unless a fault is injected on purpose; see inject.h). */
#ifndef DSP_ENGINE_H
#define DSP_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "inject.h"
#include "wav.h"

struct engine;

struct engine_config {
	unsigned rate;                    /* Hz: the backend's actual rate */
	unsigned period;                  /* frames per cycle: the backend's actual period */
	double duration;                  /* seconds of audio to make; 0 = until stopped */
	const struct wav_data *input;     /* NULL: the generated test signal */
	const char *output;               /* WAV file to write, or NULL */
	enum wav_format out_format;
	enum inject_kind inject;          /* INJECT_NONE: a clean run */
	unsigned inject_every;            /* cycles between two faults */
	unsigned inject_spin_us;          /* INJECT_SPIN: busy wait per cycle, us */
	unsigned fft_planner;             /* FFTW_MEASURE or FFTW_ESTIMATE */
	int threads;                      /* 1: run the control and writer threads */
};

struct engine_stats {
	uint64_t cycles;                  /* dsp_process calls */
	uint64_t frames;                  /* frames processed */
	uint64_t max_ns;                  /* longest callback */
	uint64_t total_ns;                /* all callbacks together */
	uint64_t overruns;                /* callbacks longer than their own period */
	uint64_t dropped;                 /* cycles missing from the WAV (writer behind) */
	uint64_t injected;                /* faults put in (exact) */
	uint64_t inject_missed;           /* faults due but impossible (see inject.h) */
	uint64_t eq_updates;              /* coefficient sets published while running */
	uint64_t fft_runs;                /* spectra computed */
	uint64_t written;                 /* frames in the output WAV */
	double peak_hz;                   /* loudest bin of the last spectrum */
	double peak_db;
	unsigned pool_low;                /* fewest free pool buffers seen */
};

/* 0 on success; otherwise the exit status to use (1 internal error, 3 cannot create
 * the output file) with a message in err. */
int engine_create(struct engine **out, const struct engine_config *cfg, char *err,
		  size_t errlen);
/* Start the control and writer threads (cfg.threads). 0 or -1 with a message. */
int engine_start(struct engine *e, char *err, size_t errlen);
/* After the backend has stopped calling dsp_process: stop the threads, close the
 * output, fill *st. 0, or 3 with a message when the WAV could not be written. */
int engine_finish(struct engine *e, struct engine_stats *st, char *err, size_t errlen);
void engine_destroy(struct engine *e);

/* The audio callback: n frames (any n; processed in slices of at most the period).
 * in: two input channels to mix into the source, or NULL; out: two output channels to
 * fill, or NULL. One call is one cycle. */
void dsp_process(struct engine *e, const float *const in[2], float *const out[2], unsigned n);

/* 1 once the configured duration has been processed or a stop was requested.
 * Callback-safe. */
int engine_done(struct engine *e);
/* Ask the run to end (async-signal-safe). */
void engine_request_stop(struct engine *e);
/* Freewheel back-pressure, outside the callback: wait (briefly sleeping) until the
 * writer and the control thread have caught up enough for another cycle. */
void engine_wait_ready(struct engine *e);

#endif
