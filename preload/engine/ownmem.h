/* ownmem.h - mlockall(2) for the program, without the profiler's own memory.
 * A real-time program locks its memory at start (mlockall(MCL_CURRENT | MCL_FUTURE)).
 * Passed on as it is, the call would lock and fill the profiler's sparse tables (tens of
 * MB each, hundreds in all) and, without CAP_IPC_LOCK, fail with ENOMEM where the
 * program alone fits in RLIMIT_MEMLOCK: the kernel compares the whole address space with
 * the limit, and the profiler reserves 64 GB of it (forkmem.c). ownmem_mlockall does
 * what the kernel would do for the program's own mappings only. */
#ifndef AUDIOPROF_OWNMEM_H
#define AUDIOPROF_OWNMEM_H

/* mlockall(flags) as the kernel would run it in the process without the profiler's own
 * ranges (the forkmem tables and the profiler's thread stacks, libaudioprof.so's own
 * segments): the same checks in the same order (EINVAL for bad flags, EPERM without
 * CAP_IPC_LOCK under a zero RLIMIT_MEMLOCK, ENOMEM when the program's address space
 * exceeds the limit, nothing changed on failure); then MCL_FUTURE through the real
 * call, and MCL_CURRENT as an mlock2 of every mapping less the profiler's ranges.
 * Returns 0, or -1 with errno set. real_mlockall, real_munlockall: libc's. Any thread;
 * no allocation; reads /proc/self/maps with raw system calls. */
int ownmem_mlockall(int flags, int (*real_mlockall)(int), int (*real_munlockall)(void));

/* Notes the malloc arena of the calling thread, one of the profiler's own (writer,
 * symbolizer, with runtime_guard held), so that ownmem_mlockall leaves its heaps out:
 * allocates and frees a block, which also makes the arena now if it has none. */
void ownmem_thread_start(void);

/* In a fork child: the arenas noted are no longer the profiler's threads' (the child
 * has none; glibc hands their arenas to whichever thread asks next). */
void ownmem_fork_child(void);

#endif
