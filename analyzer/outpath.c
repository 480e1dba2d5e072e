/* outpath.c - AUDIOPROF_OUT patterns on the analyzer's side: the same expansion as the
 * preload (%p pid, %n program name, %% percent), absolute patterns for the child, and
 * the search for the profiles a run left behind. */
#include "outpath.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ expansion */

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

/* The expansion behind outpath_expand; with `as_glob`, literal text is escaped for
 * glob(3) and a NULL `name` becomes '*'. */
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

/* ------------------------------------------------------------------ finding */

/* A regular file modified at or after `since` (a file left by an earlier process with
 * the same pid does not count). */
static int fresh(const char *path, time_t since)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime >= since;
}

/* Paths reported so far, so that a glob match that is itself an exec'd image's
 * profile is not reported twice. */
struct seen {
	char **paths;
	size_t n;
	void (*found)(const char *, unsigned, void *);
	void *arg;
};

static void report(struct seen *s, const char *path, unsigned k, int *count)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->paths[i], path) == 0)
			return;
	char **grown = realloc(s->paths, (s->n + 1) * sizeof(*grown));
	char *copy = strdup(path);
	if (grown && copy) {
		s->paths = grown;
		s->paths[s->n++] = copy;
	} else {
		if (grown)
			s->paths = grown;
		free(copy);
	}
	s->found(path, k, s->arg);
	(*count)++;
}

/* Reports `path` and the profiles of the images exec'd after it. */
static void report_chain(struct seen *s, const char *path, time_t since, int *count)
{
	if (fresh(path, since))
		report(s, path, 0, count);
	char next[4096];
	for (unsigned k = 1; outpath_exec_suffix(path, k, next, sizeof(next)) == 0 && fresh(next, since); k++)
		report(s, next, k, count);
}

int outpath_find(const char *pattern, pid_t pid, const char *name, time_t since,
		 void (*found)(const char *path, unsigned k, void *arg), void *arg)
{
	struct seen s = { NULL, 0, found, arg };
	int count = 0;
	char path[4096];
	if (outpath_expand(pattern, pid, name, path, sizeof(path)) != 0)
		return 0;
	report_chain(&s, path, since, &count);

	/* %n may come out differently: a #! line through env, an exec'd image of another
	 * name. Try it as any name, for the first image and each exec'd one. */
	char pat[8192], pat_k[8200];
	if (strstr(pattern, "%n") && expand(pattern, pid, NULL, 1, pat, sizeof(pat)) == 0) {
		for (unsigned k = 0; k < 1000; k++) {
			if (k > 0 && outpath_exec_suffix(pat, k, pat_k, sizeof(pat_k)) != 0)
				break;
			glob_t g;
			int any = 0;
			if (glob(k == 0 ? pat : pat_k, 0, NULL, &g) == 0) {
				for (size_t i = 0; i < g.gl_pathc; i++)
					if (fresh(g.gl_pathv[i], since)) {
						report(&s, g.gl_pathv[i], k, &count);
						any = 1;
					}
				globfree(&g);
			}
			if (k > 0 && !any)
				break;
		}
	}
	for (size_t i = 0; i < s.n; i++)
		free(s.paths[i]);
	free(s.paths);
	return count;
}
