/* profile_int.h - shared by the two halves of the profile reader: profile_read.c (the
 * file, the top-level scanner, the fast path, validation) and profile_json.c (reading
 * values decoded by jansson into struct profile, with their types and ranges).
 * Not for other files: they use profile_read.h. */
#ifndef AUDIOPROF_PROFILE_INT_H
#define AUDIOPROF_PROFILE_INT_H

#include "profile_read.h"

#include <jansson.h>
#include <stddef.h>

#define MAX_FRAMES    100000u            /* frames in one stack */

struct chunk;

/* Top-level keys we know (PROFILE_TOP: K_dhatFileVersion, K_mode, ...); a bit each in
 * rd.seen, to refuse repeats. */
#define RD_TOP_KEY(key, type, unit, presence, what) K_##key,
enum top_key {
	PROFILE_TOP(RD_TOP_KEY)
	K_COUNT
};
#undef RD_TOP_KEY

/* One parse: owned by parse() in profile_read.c; single-threaded. */
struct rd {
	const char *buf;         /* the whole input */
	size_t len, pos;         /* its length, the scanner's position */
	const char *name;        /* file name for messages */
	char *err;               /* the caller's message buffer */
	size_t errlen;           /* its size */
	struct profile *p;       /* being filled */
	struct chunk *arena;     /* its strings; handed to p->arena at the end */
	size_t cap_pps, cap_fs, cap_ftbl;  /* allocated lengths of p->pps, p->fs, p->ftbl */
	unsigned seen;           /* enum top_key bits */
	int mapped;              /* buf is a private file mapping: pages may be dropped */
	size_t dropped;          /* bytes of buf already released */
	long page;               /* the page size */
};

extern const char *const rd_top_names[K_COUNT];

/* "NAME: message" into r->err; returns -1. */
int rd_fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A copy of str[0..n) owned by the profile, or NULL out of memory. */
const char *rd_str(struct rd *r, const char *str, size_t n);
/* Grows *arr (elements of `size` bytes, capacity *cap) to hold at least `need`. */
int rd_grow(void *arr, size_t *cap, size_t need, size_t size);
/* Decodes r->buf[start, end) with jansson; NULL after rd_fail() on an error. */
json_t *rd_decode(struct rd *r, size_t start, size_t end);

/* profile_json.c: program point number `idx`, decoded (general path); the value of the
 * top-level key k (not pps or ftbl). 0, or -1 after rd_fail(). */
int rd_json_pp(struct rd *r, size_t idx, const json_t *o);
/* Sets the audioprof object's fields of a new profile to "absent" (-1, ""). */
void rd_json_init(struct profile *p);
int rd_json_top(struct rd *r, enum top_key k, const json_t *v);
/* "a string", "an array", ... for messages. */
const char *rd_type_desc(const json_t *v);

#endif
