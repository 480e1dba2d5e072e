/* atomicfile.h - the one writer of every output file, shared by the preload (profiles,
 * the symbol cache) and the analyzer (view pages, JUnit files). A regular file is
 * replaced whole and atomically: a reader sees the old version or the new one, never
 * half a file. Anything else already at the path is never replaced:
 *
 *   nothing there, or a regular file    written beside it, then renamed over it
 *   symbolic link                        followed; what it leads to gets this table
 *                                        (a link to a regular file stays a link)
 *   character or block device, FIFO      opened and written into directly, like `>`
 *   open file (/dev/stdout, /proc/self/fd/N)
 *                                        written into directly: one of this process's
 *                                        own descriptors through its open file (at its
 *                                        offset, as 2>&1 shares one), another's
 *                                        appended to if it is a regular file
 *   directory                            refused: EISDIR
 *   socket                               refused: EPROTOTYPE
 *
 * A symbolic link in a sticky world-writable directory (/tmp) that belongs to neither
 * the writer nor the directory's owner is not followed but replaced, as the kernel's
 * fs.protected_symlinks would refuse to follow it: a link planted there never turns
 * the write against another file.
 *
 * The new version is an unnamed O_TMPFILE in the target's directory, linked under a
 * short name (".audioprof.XXXXXXXXXXXX.tmp", never derived from the target's, so a
 * 255-byte target name works) only to be renamed over the target at once: a process
 * killed while writing leaves nothing. Where O_TMPFILE is not supported the temporary
 * file is created under that name from the start. The owner holds an flock(2) on it
 * while it exists, so a later write in the same directory can tell a file whose
 * writer died (unlocked) and removes it (each directory is looked through once per
 * process).
 *
 * New files get `mode` less the umask, like any created file. What the callers pass:
 *
 *   profiles (preload/engine/profile.c)            0666, not synced: the program's own output
 *   symbol cache (preload/engine/symcache.c)       0600, not synced: private to its user, in
 *                                           0700 directories; losing it costs a lookup
 *   view pages, JUnit (analyzer/view.c,     0666, ATOMICFILE_SYNC: what a command was
 *   analyzer/check.c)                       asked to write, like `>` would
 *
 * Every descriptor is close-on-exec and goes through one hook (atomicfile_set_fd_hook).
 * Nothing here allocates (a few KB of stack at most); struct atomicfile is large (two
 * PATH_MAX buffers): callers on small stacks allocate it. Not thread-safe per struct;
 * distinct structs are independent. */
#ifndef AUDIOPROF_ATOMICFILE_H
#define AUDIOPROF_ATOMICFILE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* Flags of atomicfile_open. */
enum {
	ATOMICFILE_SYNC = 1 << 0,      /* fsync the data before it replaces the target */
	ATOMICFILE_NOWAIT = 1 << 1,    /* a FIFO nobody reads is an error (ENXIO), not a
					* wait for a reader (for writers inside another
					* program, which must not hang at exit) */
	ATOMICFILE_NOSIGPIPE = 1 << 2, /* a reader that went away gives EPIPE, never
					* SIGPIPE (for writers inside another program) */
};

/* How the target is being written. */
enum atomicfile_how {
	ATOMICFILE_REPLACE,            /* a temporary file, renamed over the target */
	ATOMICFILE_DIRECT,             /* the target itself (device, FIFO, open file) */
};

struct atomicfile {
	int fd;                        /* where the data goes: use atomicfile_write, or
					* fdopen(dup(fd)) and fclose before commit */
	enum atomicfile_how how;
	int flags;                     /* ATOMICFILE_* */
	mode_t mode;                   /* of a new file, before the umask */
	int fifo;                      /* DIRECT into a FIFO or pipe */
	int same_fd;                   /* DIRECT: the target is our descriptor N, or -1 */
	int dirfd;                     /* REPLACE: the target's directory (O_PATH) */
	int named;                     /* REPLACE: the temporary file has a name */
	char tmpname[32];              /* REPLACE: that name, in dirfd */
	char base[NAME_MAX + 1];       /* REPLACE: the target's name in dirfd */
	char path[PATH_MAX];           /* scratch while the target is resolved */
	char link[PATH_MAX];           /* scratch: one symbolic link's contents */
};

/* Opens `path` for writing as the table above says. Returns 0, or -1 with errno set
 * (nothing is left behind). */
int atomicfile_open(struct atomicfile *af, const char *path, mode_t mode, int flags);

/* 1 when `path` names something atomicfile_open would write into rather than replace
 * (a device, a FIFO, an open file through /proc such as /dev/stdout), else 0.
 * `scratch` is only used for its buffers. */
int atomicfile_writes_into(struct atomicfile *scratch, const char *path);

/* Writes all of buf (restarting after EINTR and short writes). Returns 0, or -1 with
 * errno set. */
int atomicfile_write(struct atomicfile *af, const void *buf, size_t len);

/* Publishes the data: REPLACE syncs it (ATOMICFILE_SYNC) and renames it over the
 * target; DIRECT syncs a block device or regular file. Closes everything; on failure
 * the target is as it was and no temporary file remains. Returns 0, or -1 with errno. */
int atomicfile_commit(struct atomicfile *af);

/* Gives up: closes everything and removes the temporary file. Keeps errno. */
void atomicfile_abort(struct atomicfile *af);

/* A message for an errno this writer returns: "is a directory" (EISDIR), "is a
 * socket" (EPROTOTYPE), "is a FIFO that no process has open for reading" (ENXIO,
 * with ATOMICFILE_NOWAIT), the C library's text otherwise.
 * Async-signal-safe (no locale). */
const char *atomicfile_strerror(int err);

/* Every descriptor this writer opens is passed through hook(fd) (which returns the
 * descriptor to use, e.g. moved above a floor, or -1 with errno set) before it is
 * used. NULL (the default): used as opened. */
void atomicfile_set_fd_hook(int (*hook)(int fd));

#ifdef AUDIOPROF_TESTING
/* Tests: 1 makes atomicfile_open behave as on a file system without O_TMPFILE. */
extern int atomicfile_testing_no_tmpfile;
/* Tests: 1 skips linkat(AT_EMPTY_PATH) (as without CAP_DAC_READ_SEARCH), 2 also the
 * /proc/self/fd route (as without /proc): the unnamed file is then copied. */
extern int atomicfile_testing_link;
/* Tests: forget which directories were looked through for stale temporary files. */
void atomicfile_testing_forget(void);
#endif

#endif
