/* target.h - the program `audioprof run` is asked to start: finding it on PATH the way
 * a shell does, and deciding before running it whether LD_PRELOAD can work for it
 * (not for static executables, nor for set-user-ID/set-group-ID or capability binaries
 * that the loader runs in secure-execution mode). */
#ifndef AUDIOPROF_TARGET_H
#define AUDIOPROF_TARGET_H

#include <stddef.h>

/* Resolves `name` like execvp: a name with a '/' is taken as it is, otherwise each PATH
 * entry (empty = current directory) is tried. On success returns 0 and writes the path
 * to `out`. Otherwise prints "audioprof: NAME: ..." and returns EXIT_NOT_FOUND (127)
 * or EXIT_CANNOT_EXEC (126). */
int target_resolve(const char *name, char *out, size_t outlen);

/* 0 if LD_PRELOAD will apply when `path` is executed; -1 if not, with the reason in
 * `why` (a clause about the file: "it is statically linked (...): ..."). Follows #! interpreters like the
 * kernel (at most 4 levels). Files that are neither ELF nor scripts pass: exec or
 * execvp's /bin/sh fallback will decide. Reads the ELF program headers itself. */
int target_check(const char *path, char *why, size_t whylen);

/* The name the program will see as its own (for %n): the basename of the #!
 * interpreter for a script, else the basename of `argv0`. Written to `out`. */
void target_program_name(const char *path, const char *argv0, char *out, size_t outlen);

#endif
