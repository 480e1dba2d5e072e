/* under.h - the allocator under the profiler: the C library's, or the one the program
 * brings. A program linked against jemalloc, tcmalloc or mimalloc (a shared library that
 * defines malloc and free itself) keeps that allocator under the preload: every block
 * the profiler hands out, tracked or not, comes from it and goes back to it, so a block
 * the program makes through the allocator's own API (jemalloc's mallocx, tcmalloc's
 * operator new) and frees with free(), or the other way round, works as without the
 * profiler. Without such a library (the usual case) the calls go straight to glibc's
 * __libc_* functions, one predictable branch more.
 *
 * The allocator is found at the first call of any interposed allocation function, with
 * dlsym(RTLD_NEXT): malloc's next definition, and free, calloc, realloc, memalign (or
 * posix_memalign) and malloc_usable_size from the same object. Allocations made while
 * that lookup runs (dlsym's own, or another thread's) come from a small static area
 * that free() recognises. */
#ifndef AUDIOPROF_UNDER_H
#define AUDIOPROF_UNDER_H

#include <stddef.h>
#include <stdint.h>

enum under_state {
	UNDER_UNKNOWN = 0,   /* not looked up yet */
	UNDER_LOOKUP,        /* one thread is looking it up: the static area serves */
	UNDER_LIBC,          /* glibc's malloc */
	UNDER_OTHER,         /* the program's own allocator library */
};

extern int under_state;

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

/* The slow paths: look the allocator up if needed, then use it. */
void *under_malloc_slow(size_t n);
void *under_calloc_slow(size_t n, size_t m);
void *under_realloc_slow(void *p, size_t n);
void under_free_slow(void *p);
void *under_memalign_slow(size_t align, size_t n);

/* Start and end of the static area (blocks from it are never freed). */
extern char under_boot[];
#define UNDER_BOOT_SIZE 65536u

static inline int under_boot_owns(const void *p)
{
	return (uintptr_t)p - (uintptr_t)under_boot < UNDER_BOOT_SIZE;
}

static inline void *u_malloc(size_t n)
{
	if (__builtin_expect(__atomic_load_n(&under_state, __ATOMIC_RELAXED) == UNDER_LIBC, 1))
		return __libc_malloc(n);
	return under_malloc_slow(n);
}

static inline void *u_calloc(size_t n, size_t m)
{
	if (__builtin_expect(__atomic_load_n(&under_state, __ATOMIC_RELAXED) == UNDER_LIBC, 1))
		return __libc_calloc(n, m);
	return under_calloc_slow(n, m);
}

static inline void *u_realloc(void *p, size_t n)
{
	if (__builtin_expect(__atomic_load_n(&under_state, __ATOMIC_RELAXED) == UNDER_LIBC && !under_boot_owns(p), 1))
		return __libc_realloc(p, n);
	return under_realloc_slow(p, n);
}

static inline void u_free(void *p)
{
	if (__builtin_expect(__atomic_load_n(&under_state, __ATOMIC_RELAXED) == UNDER_LIBC && !under_boot_owns(p), 1)) {
		__libc_free(p);
		return;
	}
	under_free_slow(p);
}

/* align: a power of two >= sizeof(void *) */
static inline void *u_memalign(size_t align, size_t n)
{
	if (__builtin_expect(__atomic_load_n(&under_state, __ATOMIC_RELAXED) == UNDER_LIBC, 1))
		return __libc_memalign(align, n);
	return under_memalign_slow(align, n);
}

/* The allocator's malloc_usable_size (0 when it has none); for its own blocks only. */
size_t under_usable(void *p);

/* The file name of the program's allocator library, or NULL for glibc's malloc. */
const char *under_name(void);

/* The next definition of `name` after this library when it lives in the program's
 * allocator library, else NULL (operator new and delete of jemalloc or tcmalloc). */
void *under_sym(const char *name);

#endif
