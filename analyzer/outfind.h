/* outfind.h - after `audioprof run`: the profiles that the program and its exec'd
 * images wrote under an AUDIOPROF_OUT pattern (common/outpath.h expands it). */
#ifndef AUDIOPROF_OUTFIND_H
#define AUDIOPROF_OUTFIND_H

#include <sys/types.h>
#include <time.h>

/* Calls found(path, k, arg) for every profile written, since `since`, by process `pid`
 * under `pattern` (k = 0 for the first image, k >= 1 for the k-th exec'd image). A
 * relative pattern is taken against the current directory, which must be the one the
 * program started in. %n is tried as `name` first, then as any name (an exec'd
 * interpreter may call itself differently). Returns how many it found. */
int outfind_profiles(const char *pattern, pid_t pid, const char *name, time_t since,
		     void (*found)(const char *path, unsigned k, void *arg), void *arg);

#endif
