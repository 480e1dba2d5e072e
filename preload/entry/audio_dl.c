/* audio_dl.c - the dlsym hook and audio_find_real(): how the audio wrappers of all six
 * APIs reach the real library function, also when the program loads the audio library
 * with dlopen and looks its functions up with dlsym (SDL2's backends, the Rust jack
 * crate, miniaudio), which LD_PRELOAD alone never sees, and when a plugin loads it
 * RTLD_LOCAL and calls it through its own PLT (csound's rtjack module, ALSA's jack PCM
 * plugin), which RTLD_NEXT never sees.
 *
 * dlsym(handle, name) for an explicit handle: the real dlsym runs; when `name` is in one
 * of the hook tables (interpose.h: hooks_jack, hooks_portaudio, hooks_sdl, hooks_alsa,
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
 * program later unloads is cleared after that dlclose (audio_after_dlclose). */
#include "audio.h"
#include "interpose.h"

#include "log.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
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
	runtime_guard++;   /* whatever dlvsym allocates is ours */
	void *p = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
	if (!p)
		p = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
	runtime_guard--;
	__atomic_store_n(&audio_dl_real, (dlsym_fn)p, __ATOMIC_RELEASE);
	return (dlsym_fn)p;
}

/* ------------------------------------------------------------ the hook tables */

static const struct ap_hook *const tables[] = {
	hooks_jack, hooks_portaudio, hooks_sdl, hooks_alsa, hooks_pulse, hooks_pipewire,
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* Some slot has been set: audio_after_dlclose has something to check. */
static int slots_set;

/* One warning per API and kind (log_msg: stderr, rate-limited). */
static int warn_once(unsigned *mask, const struct ap_hook *table)
{
	unsigned bit = 0;
	for (size_t i = 0; i < NTABLES; i++)
		if (tables[i] == table)
			bit = 1u << i;
	return !(__atomic_fetch_or(mask, bit, __ATOMIC_RELAXED) & bit);
}

static void warn_second_copy(const struct ap_hook *table, const char *name)
{
	static unsigned warned;
	if (warn_once(&warned, table))
		log_msg("%s: looked up in a second copy of its library; that copy's "
			"functions are passed to the program unwrapped (not profiled)", name);
}

/* Fill every unset slot of table t from `handle` (never with one of our wrappers).
 * Runs right after the program's own lookup succeeded, which left no dlerror() state:
 * a name this library lacks must not leave one either (programs test dlerror() after
 * dlsym), and what glibc allocates for it is ours. */
static void fill_table(const struct ap_hook *t, void *handle)
{
	int missing = 0;
	runtime_guard++;
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
	runtime_guard--;
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
			void *cur = e->real ? __atomic_load_n(e->real, __ATOMIC_ACQUIRE) : NULL;
			if (cur && cur != p) {
				/* A second copy of the library (another file, loaded by path):
				 * the wrappers call the first one, whose functions must not get
				 * this copy's objects. The program gets this copy's own function,
				 * unwrapped; its callbacks are not profiled. */
				warn_second_copy(tables[i], name);
				return p;
			}
			if (e->real && !__atomic_load_n(e->real, __ATOMIC_ACQUIRE))
				__atomic_store_n(e->real, p, __ATOMIC_RELEASE);
			__atomic_store_n(&slots_set, 1, __ATOMIC_RELEASE);
			fill_table(tables[i], handle);
			return e->wrapper ? e->wrapper : p;
		}
	return p;
}

/* ------------------------------------------------------------ the real function */

/* Is p one of table t's wrappers (never a real function)? */
static int is_wrapper(const struct ap_hook *t, const void *p)
{
	for (const struct ap_hook *e = t; e->name; e++)
		if (e->wrapper == p)
			return 1;
	return 0;
}

/* The link map of the object holding address a, or NULL. dladdr1 takes the loader's
 * lock. */
static struct link_map *object_of(uintptr_t a)
{
	Dl_info info;
	struct link_map *m = NULL;
	if (!a || !dladdr1((void *)a, &info, (void **)&m, RTLD_DL_LINKMAP))
		return NULL;
	return m;
}

/* glibc's dlclose, not our hook (shim.c): closing our own NOLOAD handles. */
static void real_dlclose(dlsym_fn real, void *h)
{
	static int (*close_fn)(void *);
	if (!close_fn)
		close_fn = (int (*)(void *))real(RTLD_NEXT, "dlclose");
	if (close_fn)
		close_fn(h);
}

/* Warn once per API that a wrapper found no real function at all. */
static void warn_missing(const struct ap_hook *table, const char *name, const char *soname)
{
	static unsigned warned;
	if (!warn_once(&warned, table))
		return;
	log_msg("%s: no definition found (not after the preload, not among the caller's "
		"libraries, no %s loaded); the wrapper returns the API's error value", name,
		soname);
}

/* The lookup rule (libaudioprof(7), "How a wrapper finds the real function"): for a
 * wrapper called from return address ra, the definition of `name` that the caller's
 * own link map resolves to once the preload is taken away:
 *   1. the global scope after this library (RTLD_NEXT): what a program or library
 *      linked against the audio library gets, and what glibc searches first for any
 *      object;
 *   2. the caller's own dependencies (dlsym in a NOLOAD handle of the object the
 *      return address lies in: its local scope, which the global scope does not hold
 *      when it was dlopen'd RTLD_LOCAL, like csound's rtjack module or ALSA's jack
 *      PCM plugin with libjack);
 *   3. the library already loaded under its soname (dlopen RTLD_NOLOAD, also when
 *      loaded RTLD_LOCAL by someone else): for callers that hold a function pointer
 *      and are not linked against it.
 * Never one of our wrappers. The first hit fills every unset slot of the table from
 * the same place, so the wrappers of one API all call one copy of the library and the
 * ones used on an audio thread find their slot set at registration. Nothing found:
 * NULL (not kept; a library loaded later is still found) and one warning per API.
 *
 * Runs at registration time on the program's thread, or once on the first call of a
 * function (never again once the slot is set): takes the loader's lock and may
 * allocate (under runtime_guard: the profiler's own). Leaves errno as it was and no
 * dlerror() state of its own. */
void *audio_find_real(void **slot, const char *name, const char *soname,
		      const struct ap_hook *table, const void *ra)
{
	dlsym_fn real = __atomic_load_n(&audio_dl_real, __ATOMIC_ACQUIRE);
	if (!real && !(real = audio_dl_init()))
		return NULL;
	int err = errno;
	runtime_guard++;
	void *from = RTLD_NEXT, *opened[2] = { NULL, NULL };
	void *p = real(RTLD_NEXT, name);
	if (p && is_wrapper(table, p))
		p = NULL;
	for (int step = 0; !p && step < 2; step++) {
		/* A handle of the caller's object (ra - 1: inside its call instruction; never
		 * the main program, whose scope is the global one, nor us), then of the
		 * library by soname. RTLD_NOLOAD: only what is loaded already. A handle,
		 * not the link map itself: an object loaded only as a dependency has no
		 * search list until dlopen builds one. */
		const char *file = soname;
		if (step == 0) {
			struct link_map *m = ra ? object_of((uintptr_t)ra - 1) : NULL;
			file = m && m->l_name && m->l_name[0] &&
				m != object_of((uintptr_t)&slots_set) ? m->l_name : NULL;
		}
		if (!file || !(opened[step] = dlopen(file, RTLD_LAZY | RTLD_NOLOAD)))
			continue;
		p = real(opened[step], name);
		if (p && is_wrapper(table, p))
			p = NULL;
		from = opened[step];
	}
	if (p) {
		void *none = NULL;
		__atomic_compare_exchange_n(slot, &none, p, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		__atomic_store_n(&slots_set, 1, __ATOMIC_RELEASE);
		fill_table(table, from);
	} else {
		dlerror();   /* our failed lookups leave no error for the program */
	}
	/* Drop NOLOAD's references: what was loaded before stays loaded. */
	for (int i = 0; i < 2; i++)
		if (opened[i])
			real_dlclose(real, opened[i]);
	runtime_guard--;
	errno = err;
	if (!p)
		warn_missing(table, name, soname);
	void *s = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	return s ? s : p;
}

/* After any dlclose: a slot holding a function of a library that is no longer loaded
 * (a plugin's private libjack, unloaded with the plugin) is cleared, so the next
 * registration looks it up again instead of calling unmapped code. Until a slot is
 * set, this returns at once; then it costs one dladdr per set slot, per dlclose. */
void audio_after_dlclose(void)
{
	if (!__atomic_load_n(&slots_set, __ATOMIC_ACQUIRE))
		return;
	runtime_guard++;
	for (size_t i = 0; i < NTABLES; i++)
		for (const struct ap_hook *e = tables[i]; e->name; e++) {
			Dl_info info;
			void *p = e->real ? __atomic_load_n(e->real, __ATOMIC_ACQUIRE) : NULL;
			if (p && !dladdr(p, &info))
				__atomic_compare_exchange_n(e->real, &p, NULL, 0, __ATOMIC_ACQ_REL,
							    __ATOMIC_ACQUIRE);
		}
	runtime_guard--;
}
