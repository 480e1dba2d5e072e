/* cpu.h - what the analyzer says about CPU samples of real-time code (audioprof.cpu):
 * the hottest functions of each callback as shares of its sampled CPU time. */
#ifndef AUDIOPROF_CPU_H
#define AUDIOPROF_CPU_H

#include <stdio.h>
#include "profile_read.h"

/* One function's share of a callback's samples. */
struct cpu_func {
	const char *name;        /* function name (owned by the cpu_hot result) */
	int64_t self, total;     /* samples with it as the leaf / anywhere on the stack */
};

/* The functions of callback `cb` (-1: samples outside any callback), hottest first
 * (total, then self); *samples gets the callback's sample count. A malloc'd array
 * (free with cpu_hot_free) of *n entries; NULL with *n = 0 when there is none or out of
 * memory. */
struct cpu_func *cpu_hot(const struct profile *p, int64_t cb, size_t *n, int64_t *samples);
void cpu_hot_free(struct cpu_func *f, size_t n);

/* The report's section "CPU samples" (nothing when the profile has none). */
void cpu_report_text(FILE *f, const struct profile *p, int top);

/* The same as a JSON object for `report --json` (NULL when the profile has none). */
struct json_t;
struct json_t *cpu_report_json(const struct profile *p, int top);

#endif
