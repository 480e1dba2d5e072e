/* fds.c - the profiler's own file descriptors, above a floor and close-on-exec (see
 * fds.h). The profiler's own files go through fds_open; files that libunwind, libdw,
 * libelf or jansson open for it are caught in the interposed open family and pipe2
 * (rtcheck.c), which hand them to fds_claim / fds_pipe2.
 *
 * The interposed close asks fds_disowned before a close made for the profiler: a
 * number that no longer holds the claimed file is the program's now and stays open.
 *
 * The profiler's own threads (writer, symbolizer) go further: each has an fd table of
 * its own (fds_private_table), so what they open is never in the program's table.
 *
 * What is left, and documented in libaudioprof(7): open(2) has no way to ask for a
 * high number, so a file the profiler opens on a program thread (the profile written
 * at exit, before exec or at dlclose) holds the lowest free number for the one
 * fcntl(F_DUPFD_CLOEXEC) that moves it; another program thread opening a file at that
 * very moment gets the next number. Raw syscalls here: these run inside the
 * interposed wrappers and must not re-enter them. */
#include "fds.h"
#include "loader.h"
#include "log.h"
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libunwind.h>
#include <link.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FLOOR_HIGH  1024   /* just above FD_SETSIZE: select()able fds stay the program's */
#define FLOOR_GAP   64     /* room kept for the profiler below the soft limit */

int fds_refuse_pipes;
static int floor_fd;       /* 0: not computed yet */

/* On a thread with an fd table of its own: a pidfd of the process, plus one (0: the
 * thread shares the program's table). */
static __thread int own_pidfd __attribute__((tls_model("initial-exec")));
/* 1 once this thread's table is its own (unshare succeeded), pidfd or not. */
static __thread int private_table __attribute__((tls_model("initial-exec")));

/* The executable code of each library the profiler calls: libunwind and jansson,
 * found by fds_init; libdw and libelf (slots FIRST_LOADED on), which dwlib.c opens
 * with dlopen, noted by fds_note_library once they are loaded. Read without a lock:
 * a slot's hi is stored last, and a range not yet noted is empty. */
#define NLIBS 4
#define FIRST_LOADED 2
static struct { uintptr_t lo, hi; } libs[NLIBS];

/* The fds claimed for those libraries and not closed yet, with the file each one is:
 * a close from them is real only while the number still holds that file. Guarded by
 * a spinlock held for a few instructions (never across a syscall); when the table is
 * full a claim is not recorded and its close is simply real. */
#define NHELD 256
static struct held {
	int fd;                    /* -1: free slot */
	dev_t dev;
	ino_t ino;
} held[NHELD];
static int held_init, held_lock;

static void held_acquire(void)
{
	while (__atomic_test_and_set(&held_lock, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
}

static void held_release(void)
{
	__atomic_clear(&held_lock, __ATOMIC_RELEASE);
}

static int identity(int fd, dev_t *dev, ino_t *ino)
{
	struct stat st;
	if (syscall(SYS_fstat, fd, &st) != 0)
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

static void held_add(int fd)
{
	dev_t dev;
	ino_t ino;
	if (identity(fd, &dev, &ino) != 0)
		return;
	held_acquire();
	if (!held_init) {
		for (int i = 0; i < NHELD; i++)
			held[i].fd = -1;
		held_init = 1;
	}
	for (int i = 0; i < NHELD; i++) {
		if (held[i].fd == -1 || held[i].fd == fd) {   /* a stale entry of fd goes */
			held[i] = (struct held){ fd, dev, ino };
			break;
		}
	}
	held_release();
}

static int compute_floor(void)
{
	struct rlimit rl;
	unsigned long long soft = 1024;
	if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) == 0)
		soft = rl.rlim_cur == RLIM_INFINITY ? (1ull << 30) : rl.rlim_cur;
	int f;
	if (soft >= FLOOR_HIGH + FLOOR_GAP)
		f = FLOOR_HIGH;
	else if (soft > 2 * FLOOR_GAP)
		f = (int)soft - FLOOR_GAP;
	else
		f = (int)soft / 2;
	if (f < 3)
		f = 3;
	__atomic_store_n(&floor_fd, f, __ATOMIC_RELAXED);
	return f;
}

int fds_floor(void)
{
	int f = __atomic_load_n(&floor_fd, __ATOMIC_RELAXED);
	return f ? f : compute_floor();
}

int fds_adopt(int fd)
{
	if (fd < 0)
		return fd;
	int saved = errno;
	int f = fds_floor();
	if (fd >= f) {
		syscall(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
		errno = saved;
		return fd;
	}
	long hi = syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, f);
	if (hi < 0 && errno == EINVAL) {   /* the program lowered RLIMIT_NOFILE under it */
		int nf = compute_floor();
		hi = fd >= nf ? fd : syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, nf);
		if (hi == fd) {
			syscall(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
			errno = saved;
			return fd;
		}
	}
	syscall(SYS_close, fd);
	if (hi < 0) {
		errno = EMFILE;
		return -1;
	}
	errno = saved;
	return (int)hi;
}

void fds_grow_table(void)
{
	int saved = errno;
	int f = fds_floor();
	long hi = -1;
	for (int fd = 0; fd < 3 && hi < 0; fd++)
		hi = syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, f);
	if (hi < 0) {   /* 0-2 closed: any fd of our own will do */
		long fd = syscall(SYS_openat, AT_FDCWD, "/", O_PATH | O_CLOEXEC, 0);
		if (fd >= 0) {
			hi = syscall(SYS_fcntl, (int)fd, F_DUPFD_CLOEXEC, f);
			syscall(SYS_close, (int)fd);
		}
	}
	if (hi >= 0)
		syscall(SYS_close, (int)hi);
	errno = saved;
}

int fds_open(const char *path, int flags, unsigned mode)
{
	return fds_adopt((int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, mode));
}

int fds_in_unwinder(uintptr_t ra)
{
	return ra >= libs[0].lo && ra < libs[0].hi;   /* targets[0]: unw_backtrace */
}

int fds_ours(uintptr_t ra)
{
	for (int i = 0; i < NLIBS; i++)
		if (ra >= __atomic_load_n(&libs[i].lo, __ATOMIC_RELAXED) &&
		    ra < __atomic_load_n(&libs[i].hi, __ATOMIC_ACQUIRE))
			return 1;
	return 0;
}

int fds_claim(int fd, uintptr_t ra)
{
	if (fd < 0 || !runtime_guard || !fds_ours(ra))
		return fd;
	int saved = errno;
	fd = fds_adopt(fd);
	if (fd >= 0)
		held_add(fd);
	errno = saved;
	return fd;
}

int fds_disowned(int fd, uintptr_t ra)
{
	if (fd < 0 || !runtime_guard || !fds_ours(ra))
		return 0;
	int saved = errno, found = 0;
	dev_t dev = 0;
	ino_t ino = 0;
	held_acquire();
	for (int i = 0; held_init && i < NHELD; i++) {
		if (held[i].fd == fd) {
			dev = held[i].dev;
			ino = held[i].ino;
			held[i].fd = -1;
			found = 1;
			break;
		}
	}
	held_release();
	if (!found)
		return 0;
	dev_t d;
	ino_t n;
	int same = identity(fd, &d, &n) == 0 && d == dev && n == ino;
	errno = saved;
	return !same;
}

int fds_pipe2(int fds[2], int flags)
{
	if (fds_refuse_pipes) {
		errno = EMFILE;
		return -1;
	}
	int p[2];
	if (syscall(SYS_pipe2, p, flags) != 0)
		return -1;
	int r = fds_adopt(p[0]);
	int w = fds_adopt(p[1]);
	if (r < 0 || w < 0) {
		if (r >= 0)
			syscall(SYS_close, r);
		if (w >= 0)
			syscall(SYS_close, w);
		errno = EMFILE;
		return -1;
	}
	held_add(r);
	held_add(w);
	fds[0] = r;
	fds[1] = w;
	return 0;
}

/* ---------------------------------------------------------------- threads of our own */

int fds_private_table(void)
{
	if (own_pidfd)
		return 0;
	/* Probes that create nothing: each call fails on its arguments only if the
	 * kernel has it and no seccomp filter stands in the way. */
	errno = 0;
	if (syscall(SYS_pidfd_getfd, -1, 2, 0) != -1 || errno != EBADF)
		return -1;
	if (syscall(SYS_pidfd_open, 0, 0) != -1 || errno != EINVAL)
		return -1;
	if (syscall(SYS_close_range, ~0u, ~0u, 0) != 0)
		return -1;
	/* log_msg on this thread then writes to the program's fd 2, not to ours. */
	log_set_stderr_hooks(fds_stderr, fds_stderr_done);
	if (syscall(SYS_unshare, CLONE_FILES) != 0)
		return -1;
	private_table = 1;
	/* From here on this thread's table is a copy: drop every reference it holds to
	 * the program's files (a pipe's write end kept here would keep its reader from
	 * ever seeing end-of-file). 0-2 go to /dev/null so that a library writing to
	 * fd 2 on this thread writes into nothing of ours. */
	syscall(SYS_close_range, 0u, ~0u, 0);
	long null = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC, 0);
	if (null == 0) {
		syscall(SYS_dup3, 0, 1, O_CLOEXEC);
		syscall(SYS_dup3, 0, 2, O_CLOEXEC);
	}
	long pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd >= 0)
		own_pidfd = (int)pidfd + 1;
	return 0;
}

int fds_private(void)
{
	return private_table;
}

int fds_stderr(void)
{
	if (!own_pidfd)
		return 2;
	int saved = errno;
	long fd = syscall(SYS_pidfd_getfd, own_pidfd - 1, 2, 0);
	errno = saved;
	return fd < 0 ? -1 : (int)fd;
}

void fds_stderr_done(int fd)
{
	if (fd >= 0 && own_pidfd) {
		int saved = errno;
		syscall(SYS_close, fd);
		errno = saved;
	}
}

/* ---------------------------------------------------------------- set-up */

/* arg: NLIBS targets, 0 for a slot not looked for. */
static int find_lib(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	for (int k = 0; k < NLIBS; k++) {
		uintptr_t target = ((const uintptr_t *)arg)[k], lo = UINTPTR_MAX, hi = 0;
		if (!target)
			continue;
		for (int i = 0; i < info->dlpi_phnum; i++) {
			const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
			if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
				continue;
			uintptr_t a = info->dlpi_addr + ph->p_vaddr;
			if (a < lo)
				lo = a;
			if (a + ph->p_memsz > hi)
				hi = a + ph->p_memsz;
		}
		if (target >= lo && target < hi) {
			__atomic_store_n(&libs[k].lo, lo, __ATOMIC_RELAXED);
			__atomic_store_n(&libs[k].hi, hi, __ATOMIC_RELEASE);
		}
	}
	return 0;
}

void fds_init(void)
{
	static int done;
	if (done++)
		return;
	const uintptr_t targets[NLIBS] = {
		(uintptr_t)&unw_backtrace, (uintptr_t)&json_object,
	};
	loader_iterate(find_lib, (void *)targets);
	compute_floor();
	fds_grow_table();   /* the constructor: before the program starts a thread */
}

void fds_note_library(int k, const void *code)
{
	if (k < 0 || FIRST_LOADED + k >= NLIBS || !code)
		return;
	uintptr_t targets[NLIBS] = { 0 };
	targets[FIRST_LOADED + k] = (uintptr_t)code;
	loader_iterate(find_lib, targets);
}
