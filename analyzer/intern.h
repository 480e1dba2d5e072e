/* intern.h - a string interning table: equal strings get equal small ids, so that
 * stacks can be compared as arrays of integers (diff.c, flame.c). The table keeps
 * pointers to the caller's strings, which must outlive it. Single-threaded. */
#ifndef AUDIOPROF_INTERN_H
#define AUDIOPROF_INTERN_H

#include <stddef.h>
#include <stdint.h>

struct intern {
	const char **s;          /* slot -> string (NULL: empty slot) */
	uint32_t *id;            /* slot -> id */
	size_t cap, n;           /* slots (a power of two), strings interned */
	const char **byid;       /* id -> string */
	size_t byid_cap;
};

/* The id of s (0, 1, 2, ... in order of first appearance), or -1 out of memory. */
int64_t intern_get(struct intern *t, const char *s);
/* The string of an id. */
static inline const char *intern_str(const struct intern *t, uint32_t id)
{
	return t->byid[id];
}
void intern_free(struct intern *t);

#endif
