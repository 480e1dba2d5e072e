/* libdlnext.c - a preloaded library that asks for the next malloc after itself, as
 * interposers do (t_dlsym.sh): glibc answers relative to the caller of dlsym, so the
 * answer depends on where this library sits in LD_PRELOAD, through the hook or not.
 * Its constructor prints "lib_next_malloc <basename of the object>" on stderr.
 * It also stands in for an audio library that lacks the helpers the preload's JACK
 * wrapper uses (dlsym_probe.c dlopens it): one jack_* name, returning 42. */
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void probe(void)
{
	Dl_info di;
	void *p = dlsym(RTLD_NEXT, "malloc");
	const char *name = "null";
	if (p && dladdr(p, &di) && di.dli_fname) {
		const char *s = strrchr(di.dli_fname, '/');
		name = s ? s + 1 : di.dli_fname;
	}
	(void)!write(2, "lib_next_malloc ", 16);
	(void)!write(2, name, strlen(name));
	(void)!write(2, "\n", 1);
}

/* Not JACK's: a library exporting one hooked name and none of its helpers. */
int jack_set_process_callback(void *client, void *cb, void *arg)
{
	(void)client; (void)cb; (void)arg;
	return 42;
}
