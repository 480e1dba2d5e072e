/* queue.c - the single-producer single-consumer pointer queue of queue.h: a ring of
 * slots with a free-running head and tail; acquire/release on the indices is all the
 * synchronisation there is. */
#include "queue.h"

#include <stdlib.h>

int spsc_init(struct spsc *q, size_t capacity)
{
	size_t cap = 2;

	while (cap < capacity)
		cap <<= 1;
	q->slot = calloc(cap, sizeof *q->slot);
	if (q->slot == NULL)
		return -1;
	q->mask = cap - 1;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	return 0;
}

void spsc_free(struct spsc *q)
{
	free(q->slot);
	q->slot = NULL;
}

int spsc_push(struct spsc *q, void *p)
{
	size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&q->head, memory_order_acquire);

	if (tail - head > q->mask)
		return -1;
	q->slot[tail & q->mask] = p;
	atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
	return 0;
}

void *spsc_pop(struct spsc *q)
{
	size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	void *p;

	if (head == tail)
		return NULL;
	p = q->slot[head & q->mask];
	atomic_store_explicit(&q->head, head + 1, memory_order_release);
	return p;
}

size_t spsc_count(struct spsc *q)
{
	size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	size_t head = atomic_load_explicit(&q->head, memory_order_acquire);

	return tail - head;
}

size_t spsc_capacity(const struct spsc *q)
{
	return q->mask + 1;
}
