/* interpose.h - helpers shared by the files that define interposed names (shim.c,
 * rtcheck.c, audio_*.c): exporting, finding the real function, reading the caller's
 * frame for stack capture. */
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
 * audio_real_fn() (audio.h), which also looks in the caller's own dependencies. */
#define REAL(name) \
	static __typeof__(&name) real_##name; \
	if (!real_##name) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

/* A hidden alias of an exported function: its address inside this library, never a
 * PLT stub of the program (frame 0 of a stack). */
#define ALIAS(name) extern __typeof__(name) self_##name \
	__attribute__((alias(#name), copy(name), visibility("hidden")))
#define SELF(name) ((uintptr_t)self_##name)

#endif
