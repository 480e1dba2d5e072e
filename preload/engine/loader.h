/* loader.h - the engine's walks of the dynamic loader's module list (dl_iterate_phdr),
 * kept apart from fork() when the profiler's own threads make them.
 * dl_iterate_phdr holds the loader's list lock (glibc's dl_load_write_lock) while it
 * runs its callback, and glibc 2.36 (newer ones do) does not reset that lock in a fork
 * child: a child forked while another thread held it waits for ever at its first
 * dl_iterate_phdr (its exit profile reads the module list). The program's own threads
 * run that risk natively; the profiler's threads (writer, symbolizer) must not add it.
 * So on those threads every walk holds a lock that the fork's prepare handler (loader.c's
 * own) takes. */
#ifndef AUDIOPROF_LOADER_H
#define AUDIOPROF_LOADER_H

#include <link.h>

typedef int (*loader_cb)(struct dl_phdr_info *info, size_t size, void *arg);

/* Mark the calling thread as one of the profiler's own: from now on its walks wait for
 * a fork in progress, and a fork waits for its walk. Call first thing in the thread. */
void loader_own_thread(void);

/* dl_iterate_phdr(cb, arg). On a thread marked with loader_own_thread, under the
 * walk lock; on the program's threads a plain call (see loader.c for why). The
 * callback must not fork, walk again or take a lock a fork's prepare handler takes. */
int loader_iterate(loader_cb cb, void *arg);

#endif
