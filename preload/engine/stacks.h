/* stacks.h - capturing the allocation stack and turning it into a site id.
 * A per-thread cache of recently seen stacks, keyed by the caller's return address,
 * stack pointer and frame pointer and validated against the return addresses still
 * on the stack, answers most captures without unwinding; a miss unwinds with
 * our own CFI walker (unwind.h), or libunwind where that one stops early off the audio
 * path. Called on the allocation hot path: no lock, no allocation, no syscall on an
 * audio thread; a miss may fault in the thread's cache pages. */
#ifndef AUDIOPROF_STACKS_H
#define AUDIOPROF_STACKS_H

#include <stdint.h>
#include "sites.h"

struct stack_cache;   /* per-thread, owned by the runtime's thread state */

/* A cache for stacks of `depth` frames is two areas: its header (counters, bounds, the
 * walker's frame shapes) of stacks_cache_size(depth) bytes, and its table (tags and
 * entries: 16 MB at the default depth, reserved for the largest size the cache grows
 * to, 2 MB of it used until then) of stacks_cache_table_size(depth) bytes, each
 * 64-byte aligned and zeroed when new. The table may be given to a fork child zeroed (MADV_WIPEONFORK):
 * all zero is an empty table, so the child's copy of the forking thread's cache is
 * then an empty cache with the parent's counters (and size). */
size_t stacks_cache_size(unsigned depth);
size_t stacks_cache_table_size(unsigned depth);
/* Initialise (or empty, for reuse by another thread: table NULL keeps the one it has)
 * a cache; its counters are kept. */
void stacks_cache_init(struct stack_cache *c, unsigned depth, void *table);

/* The thread's stack bounds: return-address slots are only searched within them
 * (no bounds: nothing is cached for that thread). */
void stacks_cache_set_stack(struct stack_cache *c, uintptr_t lo, uintptr_t hi);

/* The walker's frame-shape cache inside c (unwind.h), for other walks of the same
 * thread (the CPU sampler's signal handler). */
struct unwind_shapes *stacks_cache_shapes(struct stack_cache *c);

/* Once per process, before the first capture, with runtime_guard held and after fds_init:
 * libunwind's per-thread caching, and its memory validation without a pipe. */
void stacks_global_init(void);

/* AUDIOPROF_STACK_CACHE: 0 unwinds every capture (the cache's per-thread counters
 * then count them as uncacheable). Set once at start-up. */
extern int stacks_cache_on;

/* 1 (the default): where our own walker stops early, a thread off the audio path walks
 * again with libunwind. 0: never (tests of the walker alone). */
extern int stacks_libunwind_fallback;

/* The site of the current allocation. fn: the interposed function's address (frame 0);
 * ra, cfa, fp: the caller's return address, its stack pointer at the call (the
 * interposer's canonical frame address) and its frame-pointer register.
 * cache may be NULL (no caching); full = 0 records only [fn, ra] without unwinding
 * (used before the runtime is fully up). depth >= 2. */
site_id stacks_capture(struct stack_cache *cache, unsigned depth, int full,
		       uintptr_t fn, uintptr_t ra, uintptr_t cfa, uintptr_t fp);
/* The same, giving the site itself (never NULL): for the allocation hot path. */
struct site *stacks_site(struct stack_cache *cache, unsigned depth, int full,
			 uintptr_t fn, uintptr_t ra, uintptr_t cfa, uintptr_t fp);

/* Per-thread counters (hits, misses, captures that could not be cached), added
 * into *sum; read without synchronisation, so approximate while threads run. */
struct stacks_counters { uint64_t hits, misses, uncacheable; };
void stacks_cache_counters(const struct stack_cache *c, struct stacks_counters *sum);

#endif
