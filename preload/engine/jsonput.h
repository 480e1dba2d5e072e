/* jsonput.h - one field of the profile by its type in the schema (common/
 * profile_schema.h): what the writers that build the profile from the schema's lists
 * (profile.c, audio_json.c, cpuprof.c) call as put_<TYPE>(object, key, value). A value that
 * does not apply to an OPTIONAL field leaves the field out: NULL for a string,
 * PROFILE_ABSENT_UINT for a whole number, JSONPUT_ABSENT for an object. A NULL object
 * is a failure (out of memory). Each returns 0, or -1 when the field could not be set.
 * Writer threads only (a string that is not UTF-8 is copied with malloc). */
#ifndef AUDIOPROF_JSONPUT_H
#define AUDIOPROF_JSONPUT_H

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile_schema.h"

/* JSON integers are signed 64-bit: saturate instead of wrapping to negative. */
static inline json_t *jsonput_uint(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* A JSON string for arbitrary bytes: jansson accepts only UTF-8, so a string that
 * is not (a path in another encoding, say) has its non-ASCII bytes replaced by '?'. */
static inline json_t *jsonput_str(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	char *copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* The value of an OPTIONAL object that does not apply. */
extern json_t jsonput_absent;
#define JSONPUT_ABSENT (&jsonput_absent)

static inline int put_UINT(json_t *o, const char *k, uint64_t v)
{
	if (v == PROFILE_ABSENT_UINT)
		return 0;
	return json_object_set_new_nocheck(o, k, jsonput_uint(v));
}
#define put_UINT64  put_UINT
#define put_VERSION put_UINT

static inline int put_SINT(json_t *o, const char *k, int64_t v)
{
	return json_object_set_new_nocheck(o, k, json_integer((json_int_t)v));
}

static inline int put_NUM(json_t *o, const char *k, double v)
{
	return json_object_set_new_nocheck(o, k, json_real(v));
}

static inline int put_BOOL(json_t *o, const char *k, int v)
{
	return json_object_set_new_nocheck(o, k, json_boolean(v));
}

static inline int put_STR(json_t *o, const char *k, const char *v)
{
	if (!v)
		return 0;
	return json_object_set_new_nocheck(o, k, jsonput_str(v));
}

static inline int put_OBJECT(json_t *o, const char *k, json_t *v)
{
	if (v == JSONPUT_ABSENT)
		return 0;
	return json_object_set_new_nocheck(o, k, v);   /* NULL: -1 */
}
#define put_OBJECTS put_OBJECT
#define put_FRAMES  put_OBJECT
#define put_INTS    put_OBJECT
#define put_STRS    put_OBJECT

#endif
