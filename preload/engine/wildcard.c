/* wildcard.c - fnmatch(3) with no flags, byte by byte (*, ?, [set] with ranges and ! or
 * ^, \ quoting), in the profiler's own code: AUDIOPROF_RT_THREADS is matched against
 * thread names on the allocation path, where glibc's fnmatch would consult the locale
 * (in a multibyte one converting both strings, which may load the conversion under a
 * lock setlocale holds) or allocate. Iterative, with one backtrack point: linear in
 * practice for thread names of at most 15 bytes. */
#include "wildcard.h"

#include <stddef.h>

/* One bracket expression, *pp just after its '[': 1 when c is in the set, 0 when not
 * (either way *pp moves past the ']'); -1 when there is no closing bracket ('[' is
 * then an ordinary character); -2 for a range cut off by the end of the pattern
 * (nothing matches, as in fnmatch). */
static int glob_class(const char **pp, unsigned char c)
{
	const char *p = *pp;   /* just after '[' */
	int neg = *p == '!' || *p == '^', hit = 0;
	if (neg)
		p++;
	const char *start = p;
	while (*p && (*p != ']' || p == start)) {
		unsigned char lo = (unsigned char)*p, hi;
		if (lo == '\\' && p[1])
			lo = (unsigned char)*++p;
		p++;
		hi = lo;
		if (*p == '-' && !p[1])
			return -2;   /* a range cut off by the end: nothing matches (fnmatch) */
		if (*p == '-' && p[1] && p[1] != ']') {
			p++;
			hi = (unsigned char)*p;
			if (hi == '\\' && p[1])
				hi = (unsigned char)*++p;
			p++;
		}
		if (c >= lo && c <= hi)
			hit = 1;
	}
	if (*p != ']')
		return -1;   /* no closing bracket: '[' is an ordinary character */
	*pp = p + 1;
	return hit != neg;
}

int glob_match(const char *pat, const char *name)
{
	const char *star = NULL, *resume = NULL;
	while (*name) {
		if (*pat == '*') {
			star = ++pat;
			resume = name;
			continue;
		}
		int m = 0;
		const char *next = pat + 1;
		if (*pat == '?') {
			m = 1;
		} else if (*pat == '[') {
			const char *q = pat + 1;
			int r = glob_class(&q, (unsigned char)*name);
			if (r == -2)
				return 0;
			if (r < 0)
				m = *name == '[';
			else {
				m = r;
				next = q;
			}
		} else if (*pat == '\\') {
			if (!pat[1])
				return 0;   /* a trailing backslash matches nothing (as in fnmatch) */
			m = pat[1] == *name;
			next = pat + 2;
		} else {
			m = *pat && *pat == *name;
		}
		if (m) {
			pat = next;
			name++;
		} else if (star) {
			pat = star;
			name = ++resume;
		} else {
			return 0;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == 0;
}
