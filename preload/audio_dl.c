/* audio_dl.c - the dlsym hook and audio_real(): how the audio wrappers reach the real
 * library function, also when the program loads the audio library with dlopen and looks
 * its functions up with dlsym (SDL2's backends, the Rust jack crate, miniaudio), which
 * LD_PRELOAD alone never sees.
 *
 * dlsym(handle, name) for an explicit handle: the real dlsym runs; when `name` is in one
 * of the hook tables (audio.h: hooks_jack, hooks_portaudio, hooks_sdl, hooks_alsa,
 * hooks_pulse, hooks_pipewire) the real function found there goes into the entry's slot
 * and the program gets our wrapper instead. An entry with a NULL wrapper is a helper
 * (a function a wrapper calls, e.g. jack_get_client_name): its slot is filled, the real
 * pointer is returned. The first hit of a table in a handle fills every unset slot of
 * that table from the same handle, so the wrappers find their helpers even when the
 * program never looks those up itself.
 *
 * dlsym(RTLD_NEXT, ...) and dlsym(RTLD_DEFAULT, ...) are a pure tail jump to glibc's
 * dlsym: glibc resolves both relative to the object its return address lies in, which
 * must stay the original caller's. (RTLD_DEFAULT needs no swap: we come first in the
 * global scope, so glibc already returns our exported wrapper.) On x86-64 the entry is
 * written in assembly so no compiler setting can turn the jump into a call; elsewhere it
 * relies on gcc's sibling-call optimisation, forced on for that one function.
 *
 * Threads: slots are written with atomic stores (any thread may win, all write the same
 * value). No lock; no allocation except what glibc's dlvsym does once at start-up
 * (under the guard, so it is the profiler's own). A slot filled from a library that the
 * program later dlcloses is left dangling: audio libraries are not unloaded in practice. */
#include "audio.h"
#include "interpose.h"

#include <dlfcn.h>
#include <string.h>

typedef void *(*dlsym_fn)(void *, const char *);

#define HIDDEN __attribute__((visibility("hidden"), used))

/* glibc's dlsym (set once by dl_init_real; read by the assembly entry). */
HIDDEN dlsym_fn audio_dl_real;

HIDDEN dlsym_fn audio_dl_init(void);
HIDDEN void *audio_dl_handle(void *handle, const char *name);

/* ------------------------------------------------------------ the entry point */

#if defined(__x86_64__)
/* void *dlsym(void *handle, const char *name)
 *   real = audio_dl_real, or audio_dl_init() the first time (argument registers saved);
 *   handle RTLD_NEXT (-1) or RTLD_DEFAULT (0): jmp *real   (the caller's return address
 *   stays on the stack, untouched); any other handle: jmp audio_dl_handle. */
__asm__(
	".text\n"
	".globl dlsym\n"
	".type dlsym, @function\n"
	".p2align 4\n"
	"dlsym:\n"
	"	.cfi_startproc\n"
	"	endbr64\n"
	"	movq audio_dl_real(%rip), %rax\n"
	"	testq %rax, %rax\n"
	"	jz 3f\n"
	"1:	cmpq $-1, %rdi\n"
	"	je 2f\n"
	"	testq %rdi, %rdi\n"
	"	je 2f\n"
	"	jmp audio_dl_handle\n"
	"2:	jmp *%rax\n"
	"3:	pushq %rdi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %rsi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	subq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	call audio_dl_init\n"
	"	addq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rsi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rdi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	testq %rax, %rax\n"
	"	jnz 1b\n"
	"	ret\n"                        /* no dlsym in libc at all: NULL */
	"	.cfi_endproc\n"
	".size dlsym, .-dlsym\n");
#else
/* Elsewhere: plain C whose RTLD_NEXT/RTLD_DEFAULT path must compile to a sibling call
 * (checked on x86-64 only, where the assembly above is used instead). */
EXPORT __attribute__((optimize("O2", "optimize-sibling-calls", "omit-frame-pointer")))
void *dlsym(void *handle, const char *name)
{
	dlsym_fn real = __atomic_load_n(&audio_dl_real, __ATOMIC_ACQUIRE);
	if (!real && !(real = audio_dl_init()))
		return NULL;
	if (handle == RTLD_NEXT || handle == RTLD_DEFAULT)
		return real(handle, name);
	return audio_dl_handle(handle, name);
}
#endif

/* glibc's dlsym: the GLIBC_2.34 version (libc proper), else the older one. Called from
 * the entry above, possibly before our constructor and from inside the loader. */
dlsym_fn audio_dl_init(void)
{
	rt_guard++;   /* whatever dlvsym allocates is ours */
	void *p = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
	if (!p)
		p = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
	rt_guard--;
	__atomic_store_n(&audio_dl_real, (dlsym_fn)p, __ATOMIC_RELEASE);
	return (dlsym_fn)p;
}

/* ------------------------------------------------------------ the hook tables */

static const struct ap_hook *const tables[] = {
	hooks_jack, hooks_portaudio, hooks_sdl, hooks_alsa, hooks_pulse, hooks_pipewire,
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* Fill every unset slot of table t from `handle` (never with one of our wrappers).
 * Runs right after the program's own lookup succeeded, which left no dlerror() state:
 * a name this library lacks must not leave one either (programs test dlerror() after
 * dlsym), and what glibc allocates for it is ours. */
static void fill_table(const struct ap_hook *t, void *handle)
{
	int missing = 0;
	rt_guard++;
	for (const struct ap_hook *e = t; e->name; e++) {
		if (!e->real || __atomic_load_n(e->real, __ATOMIC_ACQUIRE))
			continue;
		void *p = audio_dl_real(handle, e->name);
		if (!p)
			missing = 1;
		else if (p != e->wrapper)
			__atomic_store_n(e->real, p, __ATOMIC_RELEASE);
	}
	if (missing)
		dlerror();
	rt_guard--;
}

/* dlsym with an explicit handle: glibc does not look at the caller for these. */
void *audio_dl_handle(void *handle, const char *name)
{
	void *p = audio_dl_real(handle, name);
	if (!p || !name)
		return p;
	/* All hook names start with one of these (jack_, Pa_, SDL_, snd_, pa_, pw_);
	 * most lookups a program makes stop here. */
	switch (name[0]) {
	case 'j': case 'P': case 'S': case 's': case 'p':
		break;
	default:
		return p;
	}
	for (size_t i = 0; i < NTABLES; i++)
		for (const struct ap_hook *e = tables[i]; e->name; e++) {
			if (strcmp(e->name, name) != 0)
				continue;
			if (p == e->wrapper)
				return p;   /* the handle's scope holds us (dlopen(NULL)): already ours */
			if (e->real && !__atomic_load_n(e->real, __ATOMIC_ACQUIRE))
				__atomic_store_n(e->real, p, __ATOMIC_RELEASE);
			fill_table(tables[i], handle);
			return e->wrapper ? e->wrapper : p;
		}
	return p;
}

/* ------------------------------------------------------------ audio_real */

/* The real function behind a wrapper: *slot if set (by the hook above, or an earlier
 * call), else the next definition after this library. A NULL result is not kept, so a
 * library dlopen'd later is still found through the hook. The lookup takes the
 * loader's lock: the wrappers make it at registration, not on an audio thread; what
 * glibc allocates for it is ours. */
void *audio_real(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!p) {
		rt_guard++;
		p = dlsym(RTLD_NEXT, name);
		rt_guard--;
		if (p)
			__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}

/* The real function for a wrapper of a library the program may have opened privately
 * (RTLD_LOCAL dlopen: its own PLT calls still reach our exported wrappers, but
 * RTLD_NEXT cannot see it): the slot (filled by the dlsym hook or an earlier call),
 * else the next definition after us, else that library already loaded (looked up in
 * its handle through the dlsym hook, which fills the slots of `table` from it). Our
 * own wrapper is never taken for the real function. */
void *audio_find_real(void **slot, const char *name, const char *soname,
		      const struct ap_hook *table)
{
	void *p = audio_real(slot, name);
	if (p)
		return p;
	rt_guard++;
	void *h = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);   /* kept open */
	p = h ? dlsym(h, name) : NULL;
	rt_guard--;
	void *s = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (s)
		return s;
	for (const struct ap_hook *k = table; p && k->name; k++)
		if (k->wrapper == p)
			return NULL;   /* only our own wrapper: no real function */
	if (p)
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	return p;
}
