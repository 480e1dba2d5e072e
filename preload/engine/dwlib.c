/* dwlib.c - libdw and libelf opened on first need (see dwlib.h): dlopen by soname,
 * RTLD_LOCAL (the program's own lookups never find them), every function looked up
 * into one table, their code ranges handed to fds.c (the files libdw opens are the
 * profiler's). No lock of our own: dlopen and dl_iterate_phdr take the loader's, and
 * a thread inside the loader (a destructor calling dlclose, whose wrapper symbolizes)
 * may be the one that loads; two threads loading at once each open the libraries
 * (dlopen counts references) and the first to finish publishes the table. */
#include "dwlib.h"
#include "audio.h"
#include "fds.h"
#include "log.h"

#include <dlfcn.h>
#include <sched.h>
#include <string.h>

#define LIBDW_SONAME  "libdw.so.1"
#define LIBELF_SONAME "libelf.so.1"

struct dwlib dwlib;

/* 0 not loaded, 1 being published, 2 loaded, -1 failed for good. */
static int state;

int dwlib_loaded(void)
{
	return __atomic_load_n(&state, __ATOMIC_ACQUIRE) == 2;
}

int dwlib_failed(void)
{
	return __atomic_load_n(&state, __ATOMIC_ACQUIRE) < 0;
}

/* Opens both libraries and fills *t. Returns NULL, or the name of what failed with
 * the loader's message in *why. */
static const char *open_libs(struct dwlib *t, const char **why)
{
	void *h[2] = { NULL, NULL };
	const char *names[2] = { LIBDW_SONAME, LIBELF_SONAME };
	for (int i = 0; i < 2; i++) {
		h[i] = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (!h[i]) {
			*why = dlerror();
			return names[i];
		}
	}
	enum { DW, ELF };
#define DWLIB_LOOKUP(lib, name)                                                   \
	t->name = (__typeof__(t->name))dlsym(h[lib], #name);                      \
	if (!t->name) {                                                           \
		*why = "a function is missing";                                   \
		return #name;                                                     \
	}
	DWLIB_FUNCTIONS(DWLIB_LOOKUP)
#undef DWLIB_LOOKUP
	fds_note_library(0, (const void *)t->dwfl_begin);
	fds_note_library(1, (const void *)t->elf_begin);
	return NULL;
}

int dwlib_load(void)
{
	int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
	if (s == 2)
		return 1;
	if (s < 0 || audio_in_rt())
		return 0;
	struct dwlib t;
	const char *why = NULL, *what = open_libs(&t, &why);
	if (what) {
		int expect = 0;
		if (__atomic_compare_exchange_n(&state, &expect, -1, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			log_msg("cannot load %s (%s): frames not in the symbol cache are "
				"named by module and address only", what, why ? why : "?");
		return dwlib_loaded();
	}
	int expect = 0;
	if (__atomic_compare_exchange_n(&state, &expect, 1, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		memcpy(&dwlib, &t, sizeof(t));
		__atomic_store_n(&state, 2, __ATOMIC_RELEASE);
		return 1;
	}
	while ((s = __atomic_load_n(&state, __ATOMIC_ACQUIRE)) == 1)
		sched_yield();   /* another thread is copying its table: a few stores */
	return s == 2;
}
