/* outpath.c - AUDIOPROF_OUT patterns, one expansion for the preload and the analyzer
 * (%p pid, %n program name, %% percent), absolute patterns, and the names of exec'd
 * images' profiles. */
#include "outpath.h"

#include <stdio.h>
#include <string.h>

/* Appends `s` (len bytes) at out[*pos]; -1 when it does not fit with the final NUL. */
static int put(char *out, size_t outlen, size_t *pos, const char *s, size_t len)
{
	if (*pos + len >= outlen)
		return -1;
	memcpy(out + *pos, s, len);
	*pos += len;
	out[*pos] = '\0';
	return 0;
}

/* Appends `s` with glob's special characters escaped by a backslash. */
static int put_glob_literal(char *out, size_t outlen, size_t *pos, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (strchr("*?[]\\", s[i]) && put(out, outlen, pos, "\\", 1) != 0)
			return -1;
		if (put(out, outlen, pos, s + i, 1) != 0)
			return -1;
	}
	return 0;
}

/* The expansion behind outpath_expand and outpath_glob; with `as_glob`, literal text
 * is escaped for glob(3) and a NULL `name` becomes '*'. */
static int expand(const char *pattern, pid_t pid, const char *name, int as_glob,
		  char *out, size_t outlen)
{
	int (*lit)(char *, size_t, size_t *, const char *, size_t) = as_glob ? put_glob_literal : put;
	size_t pos = 0;
	char num[24];
	if (outlen == 0)
		return -1;
	out[0] = '\0';
	for (const char *p = pattern; *p; p++) {
		int rc;
		if (p[0] != '%' || p[1] == '\0') {
			rc = lit(out, outlen, &pos, p, 1);
		} else if (p[1] == 'p') {
			int n = snprintf(num, sizeof(num), "%ld", (long)pid);
			rc = put(out, outlen, &pos, num, (size_t)n);
			p++;
		} else if (p[1] == 'n') {
			rc = name ? lit(out, outlen, &pos, name, strlen(name)) : put(out, outlen, &pos, "*", 1);
			p++;
		} else if (p[1] == '%') {
			rc = lit(out, outlen, &pos, "%", 1);
			p++;
		} else {
			rc = lit(out, outlen, &pos, p, 1);   /* unknown: the '%' stays */
		}
		if (rc != 0)
			return -1;
	}
	return 0;
}

int outpath_expand(const char *pattern, pid_t pid, const char *name, char *out, size_t outlen)
{
	return expand(pattern, pid, name, 0, out, outlen);
}

int outpath_glob(const char *pattern, pid_t pid, char *out, size_t outlen)
{
	return expand(pattern, pid, NULL, 1, out, outlen);
}

int outpath_absolute(const char *pattern, const char *cwd, char *out, size_t outlen)
{
	size_t pos = 0;
	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (pattern[0] == '/')
		return put(out, outlen, &pos, pattern, strlen(pattern));
	for (const char *c = cwd; *c; c++)
		if (put(out, outlen, &pos, c, 1) != 0 || (*c == '%' && put(out, outlen, &pos, "%", 1) != 0))
			return -1;
	if (pos == 0 || out[pos - 1] != '/')
		if (put(out, outlen, &pos, "/", 1) != 0)
			return -1;
	return put(out, outlen, &pos, pattern, strlen(pattern));
}

int outpath_exec_suffix(const char *path, unsigned k, char *out, size_t outlen)
{
	size_t len = strlen(path);
	int n;
	if (len >= 5 && strcmp(path + len - 5, ".json") == 0)
		n = snprintf(out, outlen, "%.*s.%u.json", (int)(len - 5), path, k);
	else
		n = snprintf(out, outlen, "%s.%u", path, k);
	return n >= 0 && (size_t)n < outlen ? 0 : -1;
}
