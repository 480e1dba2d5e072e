/* fds.c - the profiler's own file descriptors, above a floor and close-on-exec (see
 * fds.h). The profiler's own files go through fds_open; files that libunwind, libdw,
 * libelf or jansson open for it are caught in the interposed open family and pipe2
 * (rtcheck.c), which hand them to fds_claim / fds_pipe2.
 *
 * What is left, and documented in libaudioprof(7): open(2) has no way to ask for a
 * high number, so a file the profiler opens holds the lowest free number for the one
 * fcntl(F_DUPFD_CLOEXEC) that moves it; a program thread opening a file at that very
 * moment gets the next number. Raw syscalls here: these run inside the interposed
 * wrappers and must not re-enter them. */
#include "fds.h"
#include "runtime.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libelf.h>
#include <libunwind.h>
#include <link.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FLOOR_HIGH  1024   /* just above FD_SETSIZE: select()able fds stay the program's */
#define FLOOR_GAP   64     /* room kept for the profiler below the soft limit */

int fds_refuse_pipes;
static int floor_fd;       /* 0: not computed yet */

/* The executable code of each library the profiler calls. */
#define NLIBS 4
static struct { uintptr_t lo, hi; } libs[NLIBS];

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

int fds_open(const char *path, int flags, unsigned mode)
{
	return fds_adopt((int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, mode));
}

int fds_ours(uintptr_t ra)
{
	for (int i = 0; i < NLIBS; i++)
		if (ra >= libs[i].lo && ra < libs[i].hi)
			return 1;
	return 0;
}

int fds_claim(int fd, uintptr_t ra)
{
	if (fd < 0 || !rt_guard || !fds_ours(ra))
		return fd;
	return fds_adopt(fd);
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
	fds[0] = r;
	fds[1] = w;
	return 0;
}

/* ---------------------------------------------------------------- set-up */

static int find_lib(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	for (int k = 0; k < NLIBS; k++) {
		uintptr_t target = ((const uintptr_t *)arg)[k], lo = UINTPTR_MAX, hi = 0;
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
			libs[k].lo = lo;
			libs[k].hi = hi;
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
		(uintptr_t)&unw_backtrace, (uintptr_t)&dwfl_begin,
		(uintptr_t)&elf_begin, (uintptr_t)&json_object,
	};
	dl_iterate_phdr(find_lib, (void *)targets);
	compute_floor();
}
