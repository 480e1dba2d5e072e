/* libdldep.c - a module that only libdltop.so needs (DT_NEEDED), so that dlopen of
 * libdltop loads it and dlclose of libdltop unloads it too (t_dlclose_dep.sh). Its
 * constructor allocates 4243 bytes, kept until exit: the allocation is made from
 * the loader's call_init, during the dlopen, like a plugin library's constructor.
 * Built as tests/progs/bin/libdldep.so. */
#include <stdlib.h>

static void *block;

/* dldep_init: 1 x 4243 kept until exit -> tb 4243 tbk 1 eb 4243 ebk 1 */
__attribute__((constructor, noinline, used)) static void dldep_init(void)
{
	block = malloc(4243);
}

void *dldep_block(void) { return block; }
