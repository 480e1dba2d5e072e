/* unwind.h - the profiler's own x86-64 stack walker: DWARF call-frame information from
 * each module's .eh_frame, found through .eh_frame_hdr, with a per-thread cache of frame
 * shapes by return address. It takes no lock, allocates nothing and makes no syscall, so
 * it may run on an audio thread the first time it meets a stack; libunwind stays as the
 * fallback for what it cannot walk (stacks.c decides when). */
#ifndef AUDIOPROF_UNWIND_H
#define AUDIOPROF_UNWIND_H

#include <stddef.h>
#include <stdint.h>

/* Per-thread frame-shape cache: opaque, unwind_shapes_size() bytes, zeroed (or
 * emptied with unwind_shapes_init) before first use; used by its thread only. */
struct unwind_shapes;
size_t unwind_shapes_size(void);
void unwind_shapes_init(struct unwind_shapes *c);

/* Once per process, off any audio thread, before the first walk: the modules loaded so
 * far. Without it (or on an architecture other than x86-64) every walk fails. */
void unwind_init(void);

/* Modules are being unloaded (dlclose): between begin and end the lock-free module
 * search is not used; end drops the modules no longer loaded. Called from the dlclose
 * wrapper, around the real call. */
void unwind_dlclose_begin(void);
void unwind_dlclose_end(void);

enum unwind_status {
	UNWIND_DONE,     /* reached the outermost frame, or max frames */
	UNWIND_FAILED,   /* stopped at a frame it could not walk: ips are right but short */
};

/* Where a walk starts: the frame that is to return to `ra`, whose stack pointer after
 * that return is `sp` (the callee's canonical frame address) and whose frame-pointer
 * register holds `fp`. Memory is read only in [lo, hi), the thread's stack (lo == hi:
 * unknown, then nothing is read and only [ra] comes back). */
struct unwind_start {
	uintptr_t ra, sp, fp;
	uintptr_t lo, hi;
	int may_lock;    /* 0 on an audio thread: a module not seen yet is searched for
	                  * without the loader's lock (dl_iterate_phdr) */
	int exact;       /* 1: ra is an interrupted instruction's address, not a return
	                  * address (a signal's context: REG_RIP, REG_RSP, REG_RBP) */
};

/* Walk up to max frames. Reentrant: a signal handler may walk while the code it
 * interrupted walks, with the same cache. ips[0] = ra, ips[1] its caller's return address, ...; slots[k]
 * (if slots is not NULL) is the stack address ips[k] was read from (0 when it came from
 * anywhere else, such as a signal frame's saved context). *n gets the frame count. */
enum unwind_status unwind_walk(struct unwind_shapes *cache, const struct unwind_start *st,
			       uintptr_t *ips, uintptr_t *slots, unsigned max, unsigned *n);

/* 1 if this thread has walked the frame that returns to pc and its canonical frame
 * address there is the stack pointer plus a constant (its frame-pointer register then
 * holds data, not the frame's base); 0 if not, or not known. A cache lookup. */
int unwind_frame_on_sp(const struct unwind_shapes *c, uintptr_t pc);

/* A thread's counters, added into *sum (racy reads while it runs): walks, frames
 * walked, frames answered by the shape cache, walks that failed. */
struct unwind_counters { uint64_t walks, frames, shape_hits, failed; };
void unwind_shapes_counters(const struct unwind_shapes *c, struct unwind_counters *sum);

#endif
