/* schema_dump.c - prints the profile schema (common/profile_schema.h) as the C
 * preprocessor sees it, one field a line, tab-separated:
 *
 *   PATH  KEY  TYPE  UNIT  PRESENCE  MEANING
 *
 * PATH is the object's place in the file ("" for the top level, "pps[]",
 * "audioprof.callbacks[]", ...). schemachk.py (t_schema.sh) reads this. */
#include <stdio.h>

#include "profile_schema.h"

static void field(const char *path, const char *key, const char *type, const char *unit,
		  const char *presence, const char *what)
{
	printf("%s\t%s\t%s\t%s\t%s\t%s\n", path, key, type, unit, presence, what);
}

#define FIELD(key, type, unit, presence, what) field(path, #key, #type, unit, #presence, what);
#define FIELDPP(key, src, type, unit, presence, what) FIELD(key, type, unit, presence, what)
#define OBJECT(p, list, shape) \
	{ \
		const char *path = p; \
		list(FIELD##shape) \
	}

int main(void)
{
	PROFILE_OBJECTS(OBJECT)
	return 0;
}
