/* glob.h - glob patterns matched without the C library (glob.c). */
#ifndef AUDIOPROF_GLOB_H
#define AUDIOPROF_GLOB_H

/* fnmatch(pattern, name, 0) == 0, without locale or allocation. */
int glob_match(const char *pattern, const char *name);

#endif
