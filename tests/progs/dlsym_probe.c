/* dlsym_probe.c - what dlsym returns, for t_dlsym.sh (the preload's dlsym hook must not
 * change any answer except audio wrappers looked up in an audio library's handle).
 * Prints one "key value" line per lookup; value is the file name (basename) of the
 * object holding the address (dladdr), "null" or "none".
 *   next_malloc      dlsym(RTLD_NEXT, "malloc")      (next after this program)
 *   default_malloc   dlsym(RTLD_DEFAULT, "malloc")
 *   next_is_default  1 if both are the same address
 *   self_jack_spc    dlsym(dlopen(NULL), "jack_set_process_callback")
 *   self_jack_call   what calling that (if found) returns for a NULL client
 *   missing_error    1 if dlsym of a missing name in a handle returns NULL with dlerror set
 *   jack_spc         dlsym(dlopen("libjack.so.0"), "jack_set_process_callback") (if loadable)
 *   jack_spc_again   1 if a second lookup gives the same address
 *   jack_rate        dlsym(same handle, "jack_get_sample_rate")
 *   jack_open        dlsym(same handle, "jack_client_open")
 *   fake_spc         dlsym(dlopen("libdlnext.so" next to this program), "jack_set_process_callback"):
 *                    a library with that one name and none of the helpers the wrapper uses
 *   fake_noerror     1 if dlerror() is clear after that (successful) lookup
 *   fake_call        what calling the result returns for a NULL client (42: libdlnext's)
 * The libdlnext lookups come before the libjack ones; with the argument "jack-first",
 * after them. (Whichever library defining jack_set_process_callback is looked up first
 * gets the preload's wrapper; the other one then gets its own function.) */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "progs.h"

static const char *where(void *p)
{
	Dl_info di;
	if (!p)
		return "null";
	if (!dladdr(p, &di) || !di.dli_fname)
		return "none";
	const char *s = strrchr(di.dli_fname, '/');
	return s ? s + 1 : di.dli_fname;
}

static void probe_fake(void)
{
	char path[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", path, sizeof(path) - 32);
	PROG_CHECK(len > 0, "readlink /proc/self/exe");
	path[len] = 0;
	char *slash = strrchr(path, '/');
	strcpy(slash ? slash + 1 : path, "libdlnext.so");
	void *fake = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	PROG_CHECK(fake != NULL, "dlopen libdlnext.so");
	dlerror();
	void *f = dlsym(fake, "jack_set_process_callback");
	int clean = dlerror() == NULL;
	printf("fake_spc %s\n", where(f));
	printf("fake_noerror %d\n", f != NULL && clean);
	if (f) {
		int (*spc)(void *, void *, void *);
		*(void **)&spc = f;
		printf("fake_call %d\n", spc(NULL, NULL, NULL));
	}
}

static void probe_jack(void)
{
	void *h = dlopen("libjack.so.0", RTLD_NOW | RTLD_LOCAL);
	if (h) {
		void *spc = dlsym(h, "jack_set_process_callback");
		printf("jack_spc %s\n", where(spc));
		printf("jack_spc_again %d\n", dlsym(h, "jack_set_process_callback") == spc);
		printf("jack_rate %s\n", where(dlsym(h, "jack_get_sample_rate")));
		printf("jack_open %s\n", where(dlsym(h, "jack_client_open")));
	}
}

int main(int argc, char **argv)
{
	void *next = dlsym(RTLD_NEXT, "malloc");
	void *def = dlsym(RTLD_DEFAULT, "malloc");
	printf("next_malloc %s\n", where(next));
	printf("default_malloc %s\n", where(def));
	printf("next_is_default %d\n", next == def);

	void *self = dlopen(NULL, RTLD_NOW);
	PROG_CHECK(self != NULL, "dlopen(NULL)");
	void *w = dlsym(self, "jack_set_process_callback");
	printf("self_jack_spc %s\n", where(w));
	if (w) {
		int (*spc)(void *, void *, void *);
		*(void **)&spc = w;
		printf("self_jack_call %d\n", spc(NULL, NULL, NULL));
	}
	dlerror();
	void *miss = dlsym(self, "no_such_function_anywhere");
	printf("missing_error %d\n", miss == NULL && dlerror() != NULL);

	int jack_first = argc > 1 && strcmp(argv[1], "jack-first") == 0;
	if (jack_first)
		probe_jack();
	probe_fake();
	if (!jack_first)
		probe_jack();
	return 0;
}
