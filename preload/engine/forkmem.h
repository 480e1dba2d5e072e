/* forkmem.h - the profiler's own anonymous mappings, and what a fork child gets of them.
 * fork() copies, in the parent's call, the page-table entry of every page a private
 * mapping has in memory (a page only read holds the zero page: one entry too), and
 * afterwards every first write of the parent to such a page is a copy-on-write fault.
 * A table whose contents a forked child throws away anyway (counts it restarts from
 * zero) is mapped "wiped in the child" (MADV_WIPEONFORK, Linux 4.14): the kernel copies
 * none of its pages, the child finds it all zeros, and the parent writes on without
 * faults. Zero must then be a valid state of the table (as for any fresh mapping), and
 * the child-side reset must not write the whole table (use forkmem_zero): the same
 * code then works on kernels without the flag, where the copy is made as before.
 * fork() also copies one entry per mapping (VMA) and one page table per 2 MB that holds
 * pages: the profiler's tables come from one reservation (forkmem.c), the copied ones
 * packed from its bottom and the wiped ones from its top, so that adjacent tables of a
 * kind merge into one mapping, whatever the number of tables and threads. */
#ifndef AUDIOPROF_FORKMEM_H
#define AUDIOPROF_FORKMEM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

/* `size` bytes of zeros (untouched pages cost nothing), which a fork child inherits like
 * any memory, never locked by the program's mlockall (forkmem.c); NULL when the mapping
 * fails. Any thread; a few syscalls. */
void *forkmem_map(size_t size);

/* The same, but a fork child finds it zeroed (the kernel copies none of it). Without
 * MADV_WIPEONFORK the mapping is inherited as forkmem_map's: a child must still reset
 * what it uses, with forkmem_zero. */
void *forkmem_map_wiped(size_t size);

/* Gives back [p, p + size) from forkmem_map*: its pages are freed (its address range,
 * inside the reservation, is not reused). */
void forkmem_unmap(void *p, size_t size);

/* Makes the reservation now if it is not made yet (mlockall's wrapper, before
 * MCL_FUTURE would lock it); whether there is one. */
int forkmem_reserve(void);

/* The address ranges [r[i][0], r[i][1]) that forkmem_map* hands out from (the
 * reservation, the mappings of their own): up to max of them; their number. Any
 * thread, no system call, no allocation. A mapping made or given back meanwhile may be
 * missed or still listed. */
size_t forkmem_ranges(uintptr_t (*r)[2], size_t max);

/* What fork()'s handlers write in the parent on every fork: the mutexes its prepare
 * handlers take and its parent handlers give back, and a count. They are alone on one
 * page that a fork child finds zeroed (MADV_WIPEONFORK, made so by forkmem.c's
 * constructor): every page the parent writes between the kernel's copy and fork()'s
 * return is one the child shares, and each costs a copy-on-write fault (the page
 * copied) inside fork(); with these on three pages, three faults. Each fork's prepare
 * handlers write too, to pages the last fork left write-protected. Zero is an unlocked
 * default mutex, what the child handlers make of them anyway (pthread_mutex_init).
 * Nothing a child must inherit may live on the page; other flags the handlers keep
 * are written only when they change. */
struct forkmem_atfork {
	pthread_mutex_t runtime_fork;   /* runtime.c's fork_lock */
	pthread_mutex_t profile_file;   /* profile.c's file_lock */
	pthread_mutex_t loader_walk;    /* loader.c's walk_lock */
	pthread_mutex_t dwlib_load;     /* dwlib.c's load_lock */
	unsigned runtime_forks;         /* runtime.c's parent_forks: 0 in a child */
} __attribute__((aligned(4096)));   /* a page to itself (x86-64 pages: 4 KB) */
extern struct forkmem_atfork forkmem_atfork;

/* Zeros in [p, p + size) of a mapping from forkmem_map*, without touching a page: pages
 * in memory are dropped (read again as zeros), and a wiped range costs nothing. p and
 * size are multiples of the page size. */
static inline void forkmem_zero(void *p, size_t size)
{
	if (p)
		madvise(p, size, MADV_DONTNEED);
}

#endif
