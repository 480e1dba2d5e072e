/* intern.c - open-addressing string table (FNV-1a, linear probing, load <= 1/2). */
#include "intern.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int grow(struct intern *t)
{
	size_t nc = t->cap ? t->cap * 2 : 1024;
	const char **s = calloc(nc, sizeof(*s));
	uint32_t *id = calloc(nc, sizeof(*id));
	if (!s || !id) {
		free(s);
		free(id);
		return -1;
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->s[i])
			continue;
		size_t j = fnv(t->s[i]) & (nc - 1);
		while (s[j])
			j = (j + 1) & (nc - 1);
		s[j] = t->s[i];
		id[j] = t->id[i];
	}
	free(t->s);
	free(t->id);
	t->s = s;
	t->id = id;
	t->cap = nc;
	return 0;
}

int64_t intern_get(struct intern *t, const char *s)
{
	if ((t->n + 1) * 2 > t->cap && grow(t) != 0)
		return -1;
	size_t j = fnv(s) & (t->cap - 1);
	while (t->s[j]) {
		if (strcmp(t->s[j], s) == 0)
			return t->id[j];
		j = (j + 1) & (t->cap - 1);
	}
	if (t->n == t->byid_cap) {
		size_t nc = t->byid_cap ? t->byid_cap * 2 : 1024;
		const char **b = realloc(t->byid, nc * sizeof(*b));
		if (!b)
			return -1;
		t->byid = b;
		t->byid_cap = nc;
	}
	t->s[j] = s;
	t->id[j] = (uint32_t)t->n;
	t->byid[t->n] = s;
	return t->n++;
}

void intern_free(struct intern *t)
{
	free(t->s);
	free(t->id);
	free(t->byid);
	memset(t, 0, sizeof(*t));
}
