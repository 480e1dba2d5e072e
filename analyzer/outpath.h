/* outpath.h - the profile file name pattern (AUDIOPROF_OUT) as the analyzer sees it:
 * expanding %p, %n and %% exactly as the preload does, and finding, after a run, the
 * profiles that the program and its exec'd images wrote. */
#ifndef AUDIOPROF_OUTPATH_H
#define AUDIOPROF_OUTPATH_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* Expands `pattern`: %p -> pid, %n -> name, %% -> '%'; any other '%' stays as it is.
 * Returns 0, or -1 if `out` is too small. */
int outpath_expand(const char *pattern, pid_t pid, const char *name, char *out, size_t outlen);

/* Makes a relative pattern absolute against `cwd`, doubling any '%' in `cwd` so that
 * it survives expansion. Returns 0, or -1 if `out` is too small. */
int outpath_absolute(const char *pattern, const char *cwd, char *out, size_t outlen);

/* The name of the k-th exec'd image's profile: ".k" before a final ".json", else
 * appended. Returns 0, or -1 if `out` is too small. */
int outpath_exec_suffix(const char *path, unsigned k, char *out, size_t outlen);

/* Calls found(path, k, arg) for every profile written, since `since`, by process `pid`
 * under `pattern` (k = 0 for the first image, k >= 1 for the k-th exec'd image). A
 * relative pattern is taken against the current directory, which must be the one the
 * program started in. %n is tried as `name` first, then as any name (an exec'd
 * interpreter may call itself differently). Returns how many it found. */
int outpath_find(const char *pattern, pid_t pid, const char *name, time_t since,
		 void (*found)(const char *path, unsigned k, void *arg), void *arg);

#endif
