/* backend.h - where dsp_demo's cycles come from. Each backend opens its device (which
 * settles the actual rate and period), then runs cycles - one dsp_process() call each,
 * marked as a real-time region for audioprof - until engine_done():
 *
 *   null       a thread paced in real time at rate/period (clock_nanosleep TIMER_ABSTIME)
 *   freewheel  the same thread, as fast as possible
 *   jack       a JACK client: the server calls our process callback; 2 in, 2 out ports
 *   alsa       a thread writing each period to an ALSA PCM with snd_pcm_writei
 *
 * All functions are called from the main thread. */
#ifndef DSP_BACKEND_H
#define DSP_BACKEND_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct engine;

enum backend_kind { BACKEND_NULL, BACKEND_FREEWHEEL, BACKEND_JACK, BACKEND_ALSA };

struct backend {
	enum backend_kind kind;
	const char *device;               /* ALSA PCM or JACK server name; NULL: default */
	unsigned rate;                    /* requested; the actual rate after backend_open */
	unsigned period;                  /* requested; the actual period after backend_open */
	uint64_t xruns;                   /* late cycles (null), xruns (JACK), underruns (ALSA) */
	const char *sched;                /* the audio thread's policy: "fifo" or "other" */
	void *priv;                       /* the backend's own state */
};

const char *backend_name(enum backend_kind kind);
/* 0 and *kind set, or -1 for an unknown name. */
int backend_parse(const char *name, enum backend_kind *kind);

/* Open the device; 0, or -1 with a message in err. */
int backend_open(struct backend *b, char *err, size_t errlen);
/* Run cycles until engine_done(e); 0, or -1 with a message in err. */
int backend_run(struct backend *b, struct engine *e, char *err, size_t errlen);
void backend_close(struct backend *b);

/* Start an audio thread, with SCHED_FIFO at priority `prio` when `prio` > 0 and the
 * system allows it (plain scheduling otherwise). Sets b->sched. 0 or an errno. */
int backend_thread_start(struct backend *b, pthread_t *t, void *(*fn)(void *), void *arg,
			 int prio);

/* The backends (backend_null.c, backend_jack.c, backend_alsa.c). */
int backend_null_run(struct backend *b, struct engine *e, char *err, size_t errlen);
int backend_jack_open(struct backend *b, char *err, size_t errlen);
int backend_jack_run(struct backend *b, struct engine *e, char *err, size_t errlen);
void backend_jack_close(struct backend *b);
int backend_alsa_open(struct backend *b, char *err, size_t errlen);
int backend_alsa_run(struct backend *b, struct engine *e, char *err, size_t errlen);
void backend_alsa_close(struct backend *b);

#endif
