/* outpath.h - the profile file name pattern (AUDIOPROF_OUT), shared by the preload
 * (where it writes its profile) and the analyzer (`audioprof run`: the pattern it
 * passes on, and where it looks for the profiles afterwards): %p is the pid, %n the
 * program name, %% a '%'; any other '%' stays as it is. Plain string work: no
 * allocation, no lock, no system call; safe at start-up and in a fork child. */
#ifndef AUDIOPROF_OUTPATH_H
#define AUDIOPROF_OUTPATH_H

#include <stddef.h>
#include <sys/types.h>

/* Expands `pattern`: %p -> pid, %n -> name, %% -> '%'. Returns 0, or -1 if `out` is
 * too small (then `out` holds the pieces that fit, NUL-terminated). */
int outpath_expand(const char *pattern, pid_t pid, const char *name, char *out, size_t outlen);

/* The same expansion as a glob(3) pattern: literal text escaped, %n -> '*' (any
 * name). Returns 0, or -1 if `out` is too small. */
int outpath_glob(const char *pattern, pid_t pid, char *out, size_t outlen);

/* Makes a relative pattern absolute against `cwd`, doubling any '%' in `cwd` so that
 * it survives expansion. Returns 0, or -1 if `out` is too small. */
int outpath_absolute(const char *pattern, const char *cwd, char *out, size_t outlen);

/* The name of the k-th exec'd image's profile: ".k" before a final ".json", else
 * appended ("x.json" -> "x.2.json", "x" -> "x.2"). Returns 0, or -1 if `out` is too
 * small. */
int outpath_exec_suffix(const char *path, unsigned k, char *out, size_t outlen);

#endif
