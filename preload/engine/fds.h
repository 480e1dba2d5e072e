/* fds.h - the profiler's own file descriptors stay out of the program's way: every fd
 * the profiler (or a library working for it: libunwind, libdw, libelf, jansson) keeps
 * is close-on-exec and lives at or above a floor high under RLIMIT_NOFILE, never on
 * the low numbers a program expects open() to return. */
#ifndef AUDIOPROF_FDS_H
#define AUDIOPROF_FDS_H

#include <stdint.h>

/* Once, from the constructor, before the profiler first calls into those libraries:
 * finds their code (takes the loader lock) and the floor. */
void fds_init(void);

/* The floor: 1024 (above select()'s FD_SETSIZE) when RLIMIT_NOFILE's soft limit
 * leaves room above it, else 64 below the limit (960 for the usual 1024), else half
 * the limit. Read again when the program lowers the limit under it. */
int fds_floor(void);

/* On a thread of the profiler's own (writer, symbolizer), first thing: give it an fd
 * table of its own (unshare(CLONE_FILES)), emptied (close_range; 0-2 on /dev/null),
 * so that nothing it opens is ever seen by the program, not even for a moment, and it
 * holds no reference to the program's files. Needs close_range, pidfd_open and
 * pidfd_getfd (Linux 5.9): without them nothing changes, returns -1, and the thread
 * shares the program's table (fds_adopt then keeps its fds high). */
int fds_private_table(void);

/* While the process has one thread (fds_init from the constructor, and a fork
 * child's pthread_atfork handler): grow the fd table up to the floor now. fork copies
 * only the part of the table that holds open fds, and growing a table that another
 * thread shares waits for an RCU grace period (the kernel's expand_fdtable: 10-30 ms),
 * which the child's first fds_adopt would otherwise pay once the writer thread runs. */
void fds_grow_table(void);

/* Whether the calling thread has an fd table of its own (fds_private_table succeeded). */
int fds_private(void);

/* Where a message for the program's standard error goes: 2, or on a thread with a
 * table of its own a duplicate of the program's current fd 2 (pidfd_getfd), to be
 * handed back to fds_stderr_done. -1: none. */
int fds_stderr(void);
void fds_stderr_done(int fd);

/* Move a freshly opened fd to the lowest free number at or above the floor,
 * close-on-exec, and close the low one. Returns the new fd; an fd already above the
 * floor is only made close-on-exec. When nothing is free up there the fd is closed
 * and -1 returned with errno EMFILE: the program's numbers are never taken instead.
 * errno is kept on success; fd < 0 is returned as is. */
int fds_adopt(int fd);

/* open(2) for the profiler's own files: O_CLOEXEC, then fds_adopt. The low number
 * the kernel hands out is held only until the fcntl that moves it. */
int fds_open(const char *path, int flags, unsigned mode);

/* Whether code at `ra` belongs to a library the profiler calls (libunwind, libdw,
 * libelf, jansson), i.e. an open() it makes on a thread inside the profiler
 * (runtime_guard) is made for the profiler. */
int fds_ours(uintptr_t ra);

/* A library the profiler loaded with dlopen (dwlib.c) and calls from now on: `code`
 * is one of its functions; k is its slot, 0 for libdw, 1 for libelf. Takes the
 * loader's lock (dl_iterate_phdr). */
void fds_note_library(int k, const void *code);

/* Whether code at `ra` is libunwind's (fds_init found its range). */
int fds_in_unwinder(uintptr_t ra);

/* For the interposed open family: the fd an interposed call returned, adopted when
 * the call was made for the profiler (runtime_guard held and the caller is fds_ours). */
int fds_claim(int fd, uintptr_t ra);

/* For the interposed close: whether a close(fd) made for the profiler must be skipped
 * because fd is no longer the file that was claimed under that number (the program
 * closed it, e.g. with closefrom, and may have reused the number): libdwfl closes a
 * debug file's fd only when it drops the module, possibly long after. Returns 0 for
 * every other call, which then closes as usual. */
int fds_disowned(int fd, uintptr_t ra);

/* For the interposed pipe2 when the call is the profiler's: libunwind's
 * memory-validation pipe is refused (EMFILE, no fd made) once stacks.c validates
 * memory itself (fds_refuse_pipes), else both ends are adopted. */
extern int fds_refuse_pipes;
int fds_pipe2(int fds[2], int flags);

#endif
