/* markers_host.c - a host that knows nothing of audioprof: dlopen()s the plug-in named
 * on its command line (markers.c built with -DMARKERS_PLUGIN) and calls its
 * markers_run(). Usage: markers_host PLUGIN.so [require]; exits 3 if it cannot load. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "markers_host: %s\n", dlerror());
		return 3;
	}
	int (*run)(int) = (int (*)(int))dlsym(h, "markers_run");
	if (!run) {
		fprintf(stderr, "markers_host: %s\n", dlerror());
		return 3;
	}
	int r = run(argc > 2 && strcmp(argv[2], "require") == 0);
	fflush(stdout);
	dlclose(h);
	return r;
}
