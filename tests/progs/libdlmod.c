/* libdlmod.c - a small module that dlmod.c dlopen()s, calls and dlclose()s before exit
 * (t_dlclose.sh). Built as a shared library: tests/progs/bin/libdlmod.so. */
#include <stdlib.h>

#define NOINLINE __attribute__((noinline, noclone, used))

/* dlmod_site: 1 x 4242 kept by the caller -> tb 4242 tbk 1 eb 4242 ebk 1 */
NOINLINE void *dlmod_site(void) { return malloc(4242); }

void *dlmod_alloc(void) { return dlmod_site(); }
