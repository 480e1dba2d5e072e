/* interpose.h - the vocabulary of the files that define interposed names (shim.c,
 * rtcheck.c, audio_*.c): exporting, finding the real function, reading the caller's
 * frame for stack capture.
 *
 * The real function behind a wrapper:
 *   REAL(name)          libc or the loader: static real_NAME, the next definition after
 *                       this library, looked up at first use (shim.c).
 *   LIBC_SLOT, NEXT     the same for rtcheck.c's wrappers, whose slots are all filled at
 *                       start-up.
 *   SLOT(name)          an audio library function's slot r_NAME, listed in the file's hook
 *                       table with HOOK(name) (wrapped) or HELPER_HOOK(name) (only called
 *                       by the wrappers);
 *   REAL_IN(lib, name)  its real function in the library `lib` (AUDIO_LIB_lib below) that
 *                       the caller's link map resolves to, or NULL. */
#ifndef AUDIOPROF_INTERPOSE_H
#define AUDIOPROF_INTERPOSE_H

#include <dlfcn.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

/* The caller's return address, stack pointer at the call and frame pointer, read from
 * our own frame (these files are built with frame pointers). Use it in the exported
 * function itself, not in a helper it calls. */
#define CALLER(ra, cfa, fp) do { \
	uintptr_t *f_ = __builtin_frame_address(0); \
	(fp) = f_[0]; (ra) = f_[1]; (cfa) = (uintptr_t)(f_ + 2); \
} while (0)

/* static real_NAME: the next definition of NAME after this library, looked up once.
 * Only for libc and the loader: an audio library a plugin may load privately needs
 * REAL_IN() (below), which also looks in the caller's own dependencies. */
#define REAL(name) \
	static __typeof__(&name) real_##name; \
	if (!real_##name) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

/* A hidden alias of an exported function: its address inside this library, never a
 * PLT stub of the program (frame 0 of a stack). */
#define ALIAS(name) extern __typeof__(name) self_##name \
	__attribute__((alias(#name), copy(name), visibility("hidden")))
#define SELF(name) ((uintptr_t)self_##name)

/* rtcheck.c's wrappers: libc slots all filled at start-up (a wrapper's first call on an
 * audio thread then takes no loader lock), listed in the section rtcheck_reals for
 * rtcheck.c's constructor; a call made before that (from another library's
 * constructor) looks its own slot up. */
struct real_slot {
	void **slot;
	const char *name;
	const char *version;   /* dlvsym's, or NULL */
};
extern const struct real_slot __start_rtcheck_reals[], __stop_rtcheck_reals[];

/* The next definition of r->name after this library (the one of r->version if given
 * and found), stored in *r->slot; aborts if there is none (rtcheck.c). */
void *rtcheck_resolve(const struct real_slot *r);

/* A file-scope slot `real` for the real `name`. */
#define LIBC_SLOT(real, name, version) \
	static __typeof__(&name) real; \
	static const struct real_slot real##_slot \
		__attribute__((section("rtcheck_reals"), used, aligned(sizeof(void *)))) = \
		{ (void **)&real, #name, version }

/* In a wrapper: `next` is the real function held in `real`. */
#define NEXT(real) \
	__typeof__(real) next = __atomic_load_n(&real, __ATOMIC_RELAXED); \
	if (__builtin_expect(!next, 0)) \
		next = (__typeof__(real))rtcheck_resolve(&real##_slot)

/* ------------------------------------------------------------ audio libraries */
/* Each audio API file (audio_jack.c, audio_portaudio.c, audio_sdl.c, audio_alsa.c,
 * audio_pulse.c, audio_pipewire.c) lists the functions it interposes, so that the
 * dlsym hook (audio_dl.c) can hand out the wrapper when a program looks the name up
 * in a library it dlopen'd, and give the wrapper the real function from that
 * library. Tables end with { NULL, NULL, NULL }. */
struct ap_hook {
	const char *name;      /* e.g. "jack_set_process_callback" */
	void *wrapper;         /* our exported wrapper */
	void **real;           /* where the wrapper keeps the real function (may be set by dlsym) */
};
extern const struct ap_hook hooks_jack[], hooks_portaudio[], hooks_sdl[],
	hooks_alsa[], hooks_pulse[], hooks_pipewire[];

/* An entry whose wrapper is NULL is a helper a wrapper calls (jack_get_client_name,
 * say): the dlsym hook fills its slot from the program's handle but hands the
 * program the real pointer unchanged. */

/* A poll on a thread that writes an ALSA PCM returned ready descriptors: the end of
 * a wait, so the next period's processing starts (audio_alsa.c; called by the poll
 * wrappers in rtcheck.c). */
void audio_alsa_wait_done(void);

/* The real function behind a wrapper (audio_dl.c, the one lookup of all six APIs):
 * *slot if set, else the definition the caller's link map resolves to (the global
 * scope after the preload, then the caller's own dependencies, then the library
 * loaded under `soname`), found once and kept in *slot with the rest of `table`.
 * ra: the wrapper's return address (which object called it). NULL if there is none
 * (warned once per API). Takes the loader's lock when the slot is unset: call it at
 * registration, before the audio thread needs the function. */
void *audio_find_real(void **slot, const char *name, const char *soname,
		      const struct ap_hook *table, const void *ra);

static inline void *audio_real_fn(void **slot, const char *name, const char *soname,
				  const struct ap_hook *table, const void *ra)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	return __builtin_expect(!!p, 1) ? p : audio_find_real(slot, name, soname, table, ra);
}

/* The six libraries: soname and hook table, for REAL_IN's `lib`. */
#define AUDIO_LIB_jack      "libjack.so.0", hooks_jack
#define AUDIO_LIB_portaudio "libportaudio.so.2", hooks_portaudio
#define AUDIO_LIB_sdl       "libSDL2-2.0.so.0", hooks_sdl
#define AUDIO_LIB_alsa      "libasound.so.2", hooks_alsa
#define AUDIO_LIB_pulse     "libpulse.so.0", hooks_pulse
#define AUDIO_LIB_pipewire  "libpipewire-0.3.so.0", hooks_pipewire

/* The slot r_NAME where a wrapper keeps the real NAME (the dlsym hook may fill it). */
#define SLOT(name) static void *r_##name
/* Entries of a hook table: a wrapped function, and a helper the wrappers call. */
#define HOOK(name) { #name, (void *)name, &r_##name }
#define HELPER_HOOK(name) { #name, NULL, &r_##name }

/* The library's real NAME, or NULL if there is none; the file has SLOT(NAME). Use it in
 * the exported wrapper itself (or a helper inlined there): its return address tells
 * whose link map to follow. */
#define REAL_IN(lib, name) \
	((__typeof__(&name))audio_real_fn(&r_##name, #name, AUDIO_LIB_##lib, \
					  __builtin_return_address(0)))

/* After every dlclose (shim.c): forget real functions whose library was unloaded. */
void audio_after_dlclose(void);

#endif
