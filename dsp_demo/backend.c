/* backend.c - backend names, dispatch to the four backends, and the audio-thread
 * starter they share. */
#include "backend.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

static const char *const names[] = {
	[BACKEND_NULL] = "null",
	[BACKEND_FREEWHEEL] = "freewheel",
	[BACKEND_JACK] = "jack",
	[BACKEND_ALSA] = "alsa",
};

const char *backend_name(enum backend_kind kind)
{
	return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

int backend_parse(const char *name, enum backend_kind *kind)
{
	for (unsigned k = 0; k < sizeof names / sizeof names[0]; k++) {
		if (strcmp(name, names[k]) == 0) {
			*kind = (enum backend_kind)k;
			return 0;
		}
	}
	return -1;
}

int backend_open(struct backend *b, char *err, size_t errlen)
{
	b->sched = "other";
	switch (b->kind) {
	case BACKEND_JACK:
		return backend_jack_open(b, err, errlen);
	case BACKEND_ALSA:
		return backend_alsa_open(b, err, errlen);
	case BACKEND_NULL:
	case BACKEND_FREEWHEEL:
	default:
		return 0;                         /* nothing to open: rate and period as asked */
	}
}

int backend_run(struct backend *b, struct engine *e, char *err, size_t errlen)
{
	switch (b->kind) {
	case BACKEND_JACK:
		return backend_jack_run(b, e, err, errlen);
	case BACKEND_ALSA:
		return backend_alsa_run(b, e, err, errlen);
	case BACKEND_NULL:
	case BACKEND_FREEWHEEL:
	default:
		return backend_null_run(b, e, err, errlen);
	}
}

void backend_close(struct backend *b)
{
	switch (b->kind) {
	case BACKEND_JACK:
		backend_jack_close(b);
		break;
	case BACKEND_ALSA:
		backend_alsa_close(b);
		break;
	case BACKEND_NULL:
	case BACKEND_FREEWHEEL:
	default:
		break;
	}
}

int backend_thread_start(struct backend *b, pthread_t *t, void *(*fn)(void *), void *arg,
			 int prio)
{
	pthread_attr_t attr;
	int rc;

	b->sched = "other";
	if (prio > 0) {
		struct sched_param sp = { .sched_priority = prio };

		pthread_attr_init(&attr);
		pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
		pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
		pthread_attr_setschedparam(&attr, &sp);
		rc = pthread_create(t, &attr, fn, arg);
		pthread_attr_destroy(&attr);
		if (rc == 0) {
			b->sched = "fifo";
			return 0;
		}
		if (rc != EPERM && rc != EINVAL && rc != ENOTSUP)
			return rc;
		/* no real-time privilege: run at normal priority */
	}
	return pthread_create(t, NULL, fn, arg);
}
