/* outfind.c - the search, after a run, for the profiles it left behind: the expanded
 * AUDIOPROF_OUT pattern, the names of exec'd images' profiles beside it, and, when the
 * pattern has %n, every program name that matches. */
#include "outfind.h"
#include "outpath.h"

#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

int outfind_profiles(const char *pattern, pid_t pid, const char *name, time_t since,
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
	if (strstr(pattern, "%n") && outpath_glob(pattern, pid, pat, sizeof(pat)) == 0) {
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
