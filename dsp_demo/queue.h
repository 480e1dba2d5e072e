/* queue.h - a bounded single-producer single-consumer queue of pointers, lock-free and
 * wait-free: the callback hands finished buffers to the WAV writer thread and
 * injected-fault blocks to and from the control thread through these.
 * Exactly one thread pushes and one thread pops at a time (the roles may move between
 * threads only across a synchronisation point such as pthread_join). */
#ifndef DSP_QUEUE_H
#define DSP_QUEUE_H

#include <stdatomic.h>
#include <stddef.h>

struct spsc {
	void **slot;                      /* capacity entries, allocated by spsc_init */
	size_t mask;                      /* capacity - 1 (capacity is a power of two) */
	char pad0[64];                    /* keep the indices on their own cache lines */
	_Atomic size_t head;              /* next slot to pop: written by the consumer */
	char pad1[64 - sizeof(size_t)];
	_Atomic size_t tail;              /* next slot to push: written by the producer */
	char pad2[64 - sizeof(size_t)];
};

/* capacity is rounded up to a power of two (at least 2). 0 on success, -1 (ENOMEM). */
int spsc_init(struct spsc *q, size_t capacity);
void spsc_free(struct spsc *q);

/* Producer: 0 when queued, -1 when the queue is full. Never blocks or allocates. */
int spsc_push(struct spsc *q, void *p);
/* Consumer: the oldest pointer, or NULL when the queue is empty. Never blocks. */
void *spsc_pop(struct spsc *q);
/* Entries queued now (approximate while the other side runs). */
size_t spsc_count(struct spsc *q);
size_t spsc_capacity(const struct spsc *q);

#endif
