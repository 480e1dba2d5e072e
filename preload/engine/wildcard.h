/* wildcard.h - glob patterns matched without the C library (wildcard.c). */
#ifndef AUDIOPROF_WILDCARD_H
#define AUDIOPROF_WILDCARD_H

/* fnmatch(pattern, name, 0) == 0, without locale or allocation. */
int glob_match(const char *pattern, const char *name);

#endif
