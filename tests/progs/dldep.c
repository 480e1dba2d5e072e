/* dldep.c - frames in a dependency that dlclose unloads with the handle's module
 * (t_dlclose_dep.sh). Usage: dldep DIR (DIR holds libdlmod.so, libdltop.so and
 * libdldep.so).
 *   1. dlopen libdlmod.so, keep a block of dlmod_alloc, dlclose it: with a cold symbol
 *      cache the profiler loads libdw here, for the closing module's frames, so its
 *      own threads never enter dlopen after this.
 *   2. Inside a dl_iterate_phdr callback (which holds the loader's list lock, so no
 *      other thread's dl_iterate_phdr gets through: the profiler's symbolizer, which
 *      reads the module list before each resolution, cannot resolve anything until the
 *      callback returns): dlopen libdltop.so, whose dependency libdldep.so allocates
 *      in its constructor; keep that block; dlclose libdltop.so, which unloads both.
 *   3. dlopen libdlmod.so again and keep it: it may take the range libdldep.so had.
 * The profile written at exit must name the constructor's frame (dldep_init, in
 * libdldep.so), never "???" nor a function of a module mapped there later. */
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include "progs.h"

static void *volatile keep[2];
static const char *dir;
static int done;

static void *open_in_dir(const char *name, int flags)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return dlopen(path, flags);
}

static void *call(void *h, const char *fn_name)
{
	void *(*fn)(void);
	*(void **)&fn = dlsym(h, fn_name);
	PROG_CHECK(fn != NULL, "dlsym");
	return fn();
}

static int in_walk(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)info, (void)size, (void)arg;
	if (done++)
		return 1;
	void *h = open_in_dir("libdltop.so", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen libdltop.so: %s\n", dlerror());
		exit(1);
	}
	keep[1] = call(h, "dltop_block");
	PROG_CHECK(keep[1] != NULL, "libdldep's constructor allocated nothing");
	PROG_CHECK(dlclose(h) == 0, "dlclose libdltop.so");
	PROG_CHECK(open_in_dir("libdldep.so", RTLD_NOW | RTLD_NOLOAD) == NULL,
		   "libdldep.so still loaded after dlclose of libdltop.so");
	return 1;
}

int main(int argc, char **argv)
{
	PROG_CHECK(argc == 2, "usage: dldep DIR");
	dir = argv[1];
	void *h = open_in_dir("libdlmod.so", RTLD_NOW | RTLD_LOCAL);
	PROG_CHECK(h != NULL, "dlopen libdlmod.so");
	keep[0] = call(h, "dlmod_alloc");
	PROG_CHECK(dlclose(h) == 0, "dlclose libdlmod.so");
	dl_iterate_phdr(in_walk, NULL);
	PROG_CHECK(done, "dl_iterate_phdr called nothing");
	PROG_CHECK(open_in_dir("libdlmod.so", RTLD_NOW | RTLD_LOCAL) != NULL, "dlopen libdlmod.so again");
	printf("dldep ok\n");
	return 0;
}
