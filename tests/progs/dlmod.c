/* dlmod.c - dlopen libdlmod.so (next to this program), call its allocating function,
 * keep the block, dlclose the module, exit (t_dlclose.sh). The profile written at exit
 * must still name the module's frames (dlmod_site, dlmod_alloc).
 * Usage: dlmod [PATH_TO_libdlmod.so] */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "progs.h"

static void *volatile keep;

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	void *h;
	void *(*fn)(void);

	if (argc > 1) {
		snprintf(path, sizeof path, "%s", argv[1]);
	} else {
		ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
		PROG_CHECK(n > 0, "readlink /proc/self/exe");
		path[n] = 0;
		char *slash = strrchr(path, '/');
		strcpy(slash ? slash + 1 : path, "libdlmod.so");
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	*(void **)&fn = dlsym(h, "dlmod_alloc");
	PROG_CHECK(fn != NULL, "dlsym dlmod_alloc");
	keep = fn();
	PROG_CHECK(keep != NULL, "dlmod_alloc returned NULL");
	PROG_CHECK(dlclose(h) == 0, "dlclose");
	/* The module is gone: its code must really be unmapped for the test to mean anything. */
	h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	PROG_CHECK(h == NULL, "module still loaded after dlclose");
	printf("dlmod ok\n");
	return 0;
}
