/* timeline.h - heap usage over time, sampled by the writer thread (never on the
 * allocation path): live bytes and blocks as the profiler counts them, and glibc's
 * own view of its heap (mallinfo2) so that fragmentation and allocator overhead show.
 * Bounded: when the buffer fills, every other sample is dropped and the period doubles. */
#ifndef AUDIOPROF_TIMELINE_H
#define AUDIOPROF_TIMELINE_H

#include <stdint.h>

struct json_t;

#define TIMELINE_SAMPLES 2048                            /* samples kept at most */

void timeline_init(uint64_t period_ns, uint64_t now);   /* period 0: off */
void timeline_reset(uint64_t now);                      /* forked child: start afresh */
/* No more samples (the program is exiting: what follows is the profiler's own work). */
void timeline_stop(void);
/* Take a sample if one is due; returns the time the next one is due (0: off). */
uint64_t timeline_tick(uint64_t now);
/* Samples held now (the length of every column written). */
unsigned timeline_count(void);
/* How long the last mallinfo2 call took (ns; 0: none yet). The next is made no
 * earlier than 100 times that after it; samples meanwhile repeat its figures. */
uint64_t timeline_heap_cost(void);
/* The audioprof object's "timeline", times relative to start_ns: a new JSON object, or
 * NULL out of memory. */
struct json_t *timeline_json(uint64_t start_ns);

#endif
