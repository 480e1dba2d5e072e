/* plughost.c - a plugin host, for tests/integration/t_plugin_audio.sh: loads a plugin
 * the way csound loads its rtjack module and ALSA its jack PCM plugin, so that the
 * audio library the plugin is linked against is loaded RTLD_LOCAL (outside the global
 * scope, where the preload's RTLD_NEXT cannot see it) and the plugin reaches it
 * through its own PLT.
 *
 *   plughost [-n N] [-p SYMBOL] PLUGIN.so [ARGS...]
 *
 * N times (default 1): dlopen(PLUGIN, RTLD_NOW | RTLD_LOCAL), call its
 * `int plugin_main(int argc, char **argv)` with PLUGIN and ARGS as argv, dlclose it.
 * With -p, before the first call: "private 1" when SYMBOL (a function of the audio
 * library the preload does not wrap, e.g. jack_client_open) is not in the global scope
 * (dlsym(RTLD_DEFAULT) finds nothing) though the plugin is loaded, else "private 0".
 * The plugins are the test programs of tests/progs/audio built with -shared
 * -Dmain=plugin_main. Prints what the last run printed (its stdout is ours), then
 * "unloaded 1" when, after the last dlclose, no object whose name contains "libjack",
 * "libportaudio" or "libSDL2" is still loaded (else "unloaded 0"). Exit: the last
 * plugin_main's status, 1 when the plugin cannot be loaded. */
#include "../progs.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>

static int audio_libs_loaded;

static int count_audio_libs(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size; (void)arg;
	const char *n = info->dlpi_name ? info->dlpi_name : "";
	if (strstr(n, "libjack") || strstr(n, "libportaudio") || strstr(n, "libSDL2"))
		audio_libs_loaded++;
	return 0;
}

int main(int argc, char **argv)
{
	int runs = 1, a = 1, r = 0;
	const char *probe = NULL;
	for (; a + 1 < argc && argv[a][0] == '-'; a += 2) {
		if (strcmp(argv[a], "-n") == 0)
			runs = atoi(argv[a + 1]);
		else if (strcmp(argv[a], "-p") == 0)
			probe = argv[a + 1];
		else
			break;
	}
	PROG_CHECK(a < argc && argv[a][0] != '-' && runs > 0,
		   "usage: plughost [-n N] [-p SYMBOL] PLUGIN.so [ARGS...]");
	for (int i = 0; i < runs; i++) {
		void *h = dlopen(argv[a], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			fprintf(stderr, "plughost: %s\n", dlerror());
			return 1;
		}
		int (*entry)(int, char **);
		*(void **)&entry = dlsym(h, "plugin_main");
		PROG_CHECK(entry != NULL, "the plugin has no plugin_main");
		if (probe && i == 0) {
			printf("private %d\n", dlsym(RTLD_DEFAULT, probe) == NULL);
			fflush(stdout);
		}
		r = entry(argc - a, argv + a);
		fflush(stdout);
		PROG_CHECK(dlclose(h) == 0, "dlclose");
	}
	dl_iterate_phdr(count_audio_libs, NULL);
	printf("unloaded %d\n", audio_libs_loaded == 0);
	return r;
}
