/* freesized.c - blocks ended by the other names of free: C23's free_sized and
 * free_aligned_sized (glibc 2.39 and later) and the old cfree (checked by
 * t_alloc_funcs.sh). Each is looked up with dlsym; when the C library has none (glibc
 * before 2.39, and cfree, which it keeps for old binaries only) the block is left
 * live, so the output is the same either way and only the profile tells: under the
 * preload the three exist, and every block here must end.
 *
 *  site      block                         ended by
 *  fs_plain  malloc(100)                   free_sized(p, 100)
 *  fs_align  aligned_alloc(64, 256)        free_aligned_sized(p, 64, 256)
 *  fs_cfree  malloc(40)                    cfree(p)
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "progs.h"

NOINLINE void *fs_plain(void) { return malloc(100); }
NOINLINE void *fs_align(void) { return aligned_alloc(64, 256); }
NOINLINE void *fs_cfree(void) { return malloc(40); }

int main(void)
{
	void (*f_sized)(void *, size_t) = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
	void (*f_aligned)(void *, size_t, size_t) =
		(void (*)(void *, size_t, size_t))dlsym(RTLD_DEFAULT, "free_aligned_sized");
	void (*f_cfree)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "cfree");
	for (int i = 0; i < 5; i++) {
		char *a = fs_plain(), *b = fs_align(), *c = fs_cfree();
		PROG_CHECK(a && b && c && ((size_t)b & 63) == 0, "allocation failed");
		memset(a, 1, 100);
		memset(b, 2, 256);
		memset(c, 3, 40);
		if (f_sized)
			f_sized(a, 100);
		if (f_aligned)
			f_aligned(b, 64, 256);
		if (f_cfree)
			f_cfree(c);
	}
	puts("freesized ok");
	return 0;
}
