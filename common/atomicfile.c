/* atomicfile.c - the one writer of output files (see atomicfile.h for the rules):
 * resolving the target, the unnamed temporary file, publishing it by link and rename,
 * writing into special files directly, and removing the temporary files of writers
 * that died. */
#include "atomicfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

#define TMP_PREFIX   ".audioprof."
#define TMP_SUFFIX   ".tmp"
#define TMP_RANDOM   12                     /* characters between prefix and suffix */
#define TMP_LEN      (sizeof(TMP_PREFIX) - 1 + TMP_RANDOM + sizeof(TMP_SUFFIX) - 1)
#define MAX_HOPS     40                     /* symbolic links followed, as the kernel */
#define MAX_TRIES    100                    /* temporary names drawn before giving up */
#define SCAN_LIMIT   65536                  /* directory entries looked at per scan */
#define YOUNG_EMPTY  5                      /* s: an empty temporary file this young may
					     * be a live writer's, not yet locked */

#ifdef AUDIOPROF_TESTING
int atomicfile_testing_no_tmpfile;
int atomicfile_testing_link;
#else
static const int atomicfile_testing_no_tmpfile;
static const int atomicfile_testing_link;
#endif

_Static_assert(TMP_LEN < sizeof(((struct atomicfile *)0)->tmpname), "tmpname too small");

/* ------------------------------------------------------------ descriptors */

static int (*fd_hook)(int fd);

void atomicfile_set_fd_hook(int (*hook)(int fd))
{
	fd_hook = hook;
}

/* Every descriptor opened here comes through this one place (all are O_CLOEXEC). */
static int own(int fd)
{
	return fd >= 0 && fd_hook ? fd_hook(fd) : fd;
}

static void close_keep_errno(int fd)
{
	int e = errno;
	if (fd >= 0)
		close(fd);
	errno = e;
}

const char *atomicfile_strerror(int err)
{
	if (err == EISDIR)
		return "is a directory";
	if (err == EPROTOTYPE)
		return "is a socket (only files, FIFOs and devices are written)";
	if (err == ENXIO)
		return "is a FIFO that no process has open for reading";
	const char *s = strerrordesc_np(err);
	return s ? s : "unknown error";
}

/* ------------------------------------------------------------ temporary names */

/* A fresh TMP_PREFIX + random + TMP_SUFFIX into out. */
static void tmp_name(char *out)
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static uint64_t counter;
	unsigned char rnd[TMP_RANDOM];
	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		/* No entropy yet (early boot): the clock, pid and a counter, mixed. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
			     ((uint64_t)getpid() << 40) ^
			     __atomic_add_fetch(&counter, 0x9E3779B97F4A7C15ull, __ATOMIC_RELAXED);
		for (size_t i = 0; i < sizeof(rnd); i++) {
			x ^= x >> 31;
			x *= 0xBF58476D1CE4E5B9ull;
			rnd[i] = (unsigned char)(x >> 56);
		}
	}
	size_t n = sizeof(TMP_PREFIX) - 1;
	memcpy(out, TMP_PREFIX, n);
	for (size_t i = 0; i < TMP_RANDOM; i++)
		out[n++] = digits[rnd[i] % (sizeof(digits) - 1)];
	memcpy(out + n, TMP_SUFFIX, sizeof(TMP_SUFFIX));
}

/* 1 if name is one of ours (whatever process drew it). */
static int is_tmp_name(const char *name)
{
	if (strlen(name) != TMP_LEN || strncmp(name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) != 0 ||
	    strcmp(name + TMP_LEN - (sizeof(TMP_SUFFIX) - 1), TMP_SUFFIX) != 0)
		return 0;
	for (size_t i = sizeof(TMP_PREFIX) - 1; i < sizeof(TMP_PREFIX) - 1 + TMP_RANDOM; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9')))
			return 0;
	return 1;
}

/* ------------------------------------------------------------ resolving the target */

/* Length of the directory part of p including its final '/', or 0 when p has none. */
static size_t dir_len(const char *p)
{
	const char *slash = strrchr(p, '/');
	return slash ? (size_t)(slash - p) + 1 : 0;
}

/* The directory part of p into out ("." when there is none). */
static void dir_of(const char *p, char *out)
{
	size_t n = dir_len(p);
	if (n == 0) {
		memcpy(out, ".", 2);
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

/* May a symbolic link with these attributes, in a directory with these, be followed?
 * No in a sticky world-writable directory when it belongs to neither us nor the
 * directory's owner: the rule of the kernel's fs.protected_symlinks. */
static int trusted_link(const struct stat *lnk, const struct stat *dir)
{
	if (!(dir->st_mode & S_ISVTX) || !(dir->st_mode & S_IWOTH))
		return 1;
	return lnk->st_uid == geteuid() || lnk->st_uid == dir->st_uid;
}

/* N when p names this process's own descriptor N through /proc ("/proc/self/fd/N",
 * "/proc/thread-self/fd/N", "/proc/<our pid>/fd/N", "/dev/fd/N"), else -1. */
static int own_fd_link(const char *p)
{
	static const char *const prefixes[] = { "/proc/self/fd/", "/proc/thread-self/fd/",
						"/dev/fd/", "/proc/" };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(p, prefixes[i], n) != 0)
			continue;
		const char *q = p + n;
		if (i == 3) {                  /* "/proc/<pid>/fd/N" */
			long pid = 0;
			for (; *q >= '0' && *q <= '9' && pid < INT_MAX; q++)
				pid = pid * 10 + (*q - '0');
			if (q == p + n || pid != (long)getpid() || strncmp(q, "/fd/", 4) != 0)
				return -1;
			q += 4;
		}
		long fd = 0;
		const char *digits = q;
		for (; *q >= '0' && *q <= '9' && fd < INT_MAX; q++)
			fd = fd * 10 + (*q - '0');
		return q != digits && *q == '\0' && fd < INT_MAX ? (int)fd : -1;
	}
	return -1;
}

enum target {
	T_NONE,        /* nothing at af->path: create it */
	T_REPLACE,     /* a regular file (or an untrusted link) at af->path: replace it */
	T_DIRECT,      /* write into what af->path opens (st says what it is) */
};

/* Follows the target's symbolic links (the final component's; the directories on the
 * way are the kernel's business) and says what is there. af->path ends up as the path
 * to create, replace or open. Returns 0 or -1 with errno. */
static int resolve(struct atomicfile *af, const char *path, enum target *t, struct stat *st)
{
	size_t len = strlen(path);
	if (len == 0) {
		errno = ENOENT;
		return -1;
	}
	if (len >= sizeof(af->path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(af->path, path, len + 1);
	for (int hop = 0; hop <= MAX_HOPS; hop++) {
		struct stat lst, dst;
		if (lstat(af->path, &lst) != 0) {
			if (errno != ENOENT)
				return -1;
			*t = T_NONE;
			return 0;
		}
		if (!S_ISLNK(lst.st_mode)) {
			*st = lst;
			*t = S_ISREG(lst.st_mode) ? T_REPLACE : T_DIRECT;
			return 0;
		}
		/* A link. Its directory says whether it is /proc's kind (an open file, not
		 * a path: /dev/stdout ends in one) and whether it may be followed. */
		dir_of(af->path, af->link);
		struct statfs fs;
		if (statfs(af->link, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC) {
			if (stat(af->path, st) != 0)
				return -1;
			af->same_fd = own_fd_link(af->path);
			*t = T_DIRECT;
			return 0;
		}
		if (stat(af->link, &dst) != 0)
			return -1;
		if (!trusted_link(&lst, &dst)) {
			*st = lst;
			*t = T_REPLACE;
			return 0;
		}
		ssize_t n = readlink(af->path, af->link, sizeof(af->link) - 1);
		if (n < 0)
			return -1;
		af->link[n] = '\0';
		size_t keep = af->link[0] == '/' ? 0 : dir_len(af->path);
		if (keep + (size_t)n >= sizeof(af->path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(af->path + keep, af->link, (size_t)n + 1);
	}
	errno = ELOOP;
	return -1;
}

/* ------------------------------------------------------------ opening */

static int open_direct(struct atomicfile *af, const struct stat *st)
{
	if (S_ISDIR(st->st_mode)) {
		errno = EISDIR;
		return -1;
	}
	if (S_ISSOCK(st->st_mode)) {
		errno = EPROTOTYPE;            /* open(2) would say ENXIO, as for a FIFO */
		return -1;
	}
	int fifo = S_ISFIFO(st->st_mode);
	if (af->same_fd >= 0) {
		/* One of our own descriptors (/dev/stdout): share its open file, so that
		 * what we write goes where its own writes go (at its offset, not over
		 * them). Its flags are the program's and stay as they are. */
		int fd = own(fcntl(af->same_fd, F_DUPFD_CLOEXEC, 0));
		if (fd < 0)
			return -1;
		af->fd = fd;
		af->how = ATOMICFILE_DIRECT;
		af->fifo = fifo;
		return 0;
	}
	/* A device opens without waiting (a serial line would wait for its carrier); a
	 * FIFO waits for a reader unless the caller may not wait. An open file reached
	 * through /proc is appended to, as a shell's >> would. */
	int nonblock = !fifo || (af->flags & ATOMICFILE_NOWAIT);
	int oflags = O_WRONLY | O_NOCTTY | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0) |
		     (S_ISREG(st->st_mode) ? O_APPEND : 0);
	int fd = own(open(af->path, oflags));
	if (fd < 0)
		return -1;
	struct stat now;
	if (fstat(fd, &now) != 0 ||
	    (nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)) {
		close_keep_errno(fd);
		return -1;
	}
	af->fd = fd;
	af->how = ATOMICFILE_DIRECT;
	af->fifo = S_ISFIFO(now.st_mode);
	return 0;
}

/* The temporary file under a name of its own (no O_TMPFILE here). */
static int open_named(struct atomicfile *af, mode_t mode)
{
	for (int i = 0; i < MAX_TRIES; i++) {
		tmp_name(af->tmpname);
		int fd = own(openat(af->dirfd, af->tmpname,
				    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
		if (fd >= 0) {
			af->named = 1;
			return fd;
		}
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

static int open_replace(struct atomicfile *af, mode_t mode)
{
	size_t d = dir_len(af->path);
	size_t blen = strlen(af->path + d);
	if (blen == 0) {
		errno = EISDIR;                /* "dir/": names a directory */
		return -1;
	}
	if (blen > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(af->base, af->path + d, blen + 1);
	dir_of(af->path, af->link);
	af->dirfd = own(open(af->link, O_PATH | O_DIRECTORY | O_CLOEXEC));
	if (af->dirfd < 0)
		return -1;
	int fd = -1;
	if (!atomicfile_testing_no_tmpfile) {
		fd = own(openat(af->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode));
		/* Not supported by the file system (or the kernel): a named file instead. */
		if (fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			goto fail;
	}
	if (fd < 0 && (fd = open_named(af, mode)) < 0)
		goto fail;
	/* Held while the file exists: a writer that died leaves it unlocked. */
	flock(fd, LOCK_EX | LOCK_NB);
	af->fd = fd;
	af->how = ATOMICFILE_REPLACE;
	return 0;
fail:
	close_keep_errno(af->dirfd);
	af->dirfd = -1;
	return -1;
}

int atomicfile_writes_into(struct atomicfile *scratch, const char *path)
{
	enum target t;
	struct stat st;
	scratch->same_fd = -1;
	return resolve(scratch, path, &t, &st) == 0 && t == T_DIRECT && !S_ISDIR(st.st_mode) &&
	       !S_ISSOCK(st.st_mode);
}

int atomicfile_open(struct atomicfile *af, const char *path, mode_t mode, int flags)
{
	af->fd = -1;
	af->dirfd = -1;
	af->named = 0;
	af->fifo = 0;
	af->same_fd = -1;
	af->flags = flags;
	af->mode = mode;
	af->tmpname[0] = '\0';
	af->base[0] = '\0';
	enum target t;
	struct stat st;
	if (resolve(af, path, &t, &st) != 0)
		return -1;
	return t == T_DIRECT ? open_direct(af, &st) : open_replace(af, mode);
}

/* ------------------------------------------------------------ writing */

/* write(2) that turns the SIGPIPE a vanished reader raises into EPIPE alone: SIGPIPE is
 * blocked around the call and, if the call raised it (it was not pending before),
 * taken back with sigtimedwait. Other threads' signals are untouched. */
static ssize_t write_nosigpipe(int fd, const void *p, size_t n)
{
	sigset_t pipe_set, pending, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	int was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	ssize_t w = write(fd, p, n);
	int e = errno;
	if (w < 0 && e == EPIPE && !was_pending) {
		static const struct timespec zero = { 0, 0 };
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}

int atomicfile_write(struct atomicfile *af, const void *buf, size_t len)
{
	const char *p = buf;
	int guard = af->fifo && (af->flags & ATOMICFILE_NOSIGPIPE);
	while (len > 0) {
		ssize_t w = guard ? write_nosigpipe(af->fd, p, len) : write(af->fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			/* The program's own descriptor (/dev/stdout) may be non-blocking. */
			struct pollfd pfd = { .fd = af->fd, .events = POLLOUT };
			if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
				continue;
			return -1;
		}
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* ------------------------------------------------------------ publishing */

/* Gives the unnamed temporary file af->fd a fresh name in af->dirfd: linkat on the
 * descriptor where allowed (CAP_DAC_READ_SEARCH), else through /proc/self/fd. Returns
 * 0, or -1 with errno (ENOENT and friends: no way to name it here). */
static int link_tmpfile(struct atomicfile *af)
{
	char proc[32] = "/proc/self/fd/";
	size_t n = strlen(proc);
	char digits[12];
	int d = 0;
	for (unsigned v = (unsigned)af->fd; d == 0 || v; v /= 10)
		digits[d++] = (char)('0' + v % 10);
	while (d)
		proc[n++] = digits[--d];
	proc[n] = '\0';
	for (int i = 0; i < MAX_TRIES; i++) {
		tmp_name(af->tmpname);
		if ((atomicfile_testing_link < 1 &&
		     linkat(af->fd, "", af->dirfd, af->tmpname, AT_EMPTY_PATH) == 0) ||
		    (atomicfile_testing_link < 2 &&
		     linkat(AT_FDCWD, proc, af->dirfd, af->tmpname, AT_SYMLINK_FOLLOW) == 0)) {
			af->named = 1;
			return 0;
		}
		if (atomicfile_testing_link >= 2)
			errno = ENOENT;
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

/* No way to name the unnamed file (no /proc, no capability): copy it into a named
 * one. Returns 0, or -1 with errno (af->fd is then the named file, or -1). */
static int copy_to_named(struct atomicfile *af)
{
	int src = af->fd;
	af->fd = open_named(af, af->mode);
	if (af->fd < 0) {
		close_keep_errno(src);
		return -1;
	}
	flock(af->fd, LOCK_EX | LOCK_NB);
	char buf[4096];
	off_t off = 0;
	ssize_t r;
	while ((r = pread(src, buf, sizeof(buf), off)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || atomicfile_write(af, buf, (size_t)r) != 0) {
			close_keep_errno(src);
			return -1;
		}
		off += r;
	}
	close(src);
	return (af->flags & ATOMICFILE_SYNC) ? fsync(af->fd) : 0;
}

static void scan_stale(int dirfd);

int atomicfile_commit(struct atomicfile *af)
{
	if (af->how == ATOMICFILE_DIRECT) {
		struct stat st;
		int err = 0;
		if ((af->flags & ATOMICFILE_SYNC) && fstat(af->fd, &st) == 0 &&
		    (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) && fsync(af->fd) != 0 &&
		    errno != EINVAL && errno != EROFS)
			err = errno;
		if (close(af->fd) != 0 && errno != EINTR && !err)
			err = errno;
		af->fd = -1;
		errno = err;
		return err ? -1 : 0;
	}
	if ((af->flags & ATOMICFILE_SYNC) && fsync(af->fd) != 0)
		goto fail;
	if (!af->named && link_tmpfile(af) != 0 && copy_to_named(af) != 0)
		goto fail;
	if (renameat(af->dirfd, af->tmpname, af->dirfd, af->base) != 0)
		goto fail;
	af->named = 0;                 /* the name is the target's now */
	int rc = close(af->fd);
	af->fd = -1;
	int err = rc != 0 && errno != EINTR ? errno : 0;
	scan_stale(af->dirfd);
	close(af->dirfd);
	af->dirfd = -1;
	errno = err;
	return err ? -1 : 0;
fail:
	atomicfile_abort(af);
	return -1;
}

void atomicfile_abort(struct atomicfile *af)
{
	int e = errno;
	if (af->named && af->dirfd >= 0)
		unlinkat(af->dirfd, af->tmpname, 0);
	af->named = 0;
	if (af->fd >= 0)
		close(af->fd);
	if (af->dirfd >= 0)
		close(af->dirfd);
	af->fd = af->dirfd = -1;
	errno = e;
}

/* ------------------------------------------------------------ stale temporary files */

/* Directories this process has looked through (device, inode): each once. Races
 * between threads only cost a second look or a missed one. */
static struct { dev_t dev; ino_t ino; } scanned[8];
static unsigned nscanned;

#ifdef AUDIOPROF_TESTING
void atomicfile_testing_forget(void)
{
	nscanned = 0;
}
#endif

/* Removes from the directory the temporary files of ours whose writer is gone: they
 * are unlocked (a live writer holds its lock until the name is gone). An empty one
 * younger than YOUNG_EMPTY seconds may be a live writer's between its open and its
 * flock, and stays. Once per directory per process. */
static void scan_stale(int dirfd)
{
	struct stat dst;
	if (fstat(dirfd, &dst) != 0)
		return;
	unsigned n = __atomic_load_n(&nscanned, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < n && i < sizeof(scanned) / sizeof(scanned[0]); i++)
		if (scanned[i].dev == dst.st_dev && scanned[i].ino == dst.st_ino)
			return;
	unsigned slot = __atomic_fetch_add(&nscanned, 1, __ATOMIC_RELAXED);
	if (slot < sizeof(scanned) / sizeof(scanned[0])) {
		scanned[slot].dev = dst.st_dev;
		scanned[slot].ino = dst.st_ino;
	}
	int dfd = own(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (dfd < 0)
		return;
	char buf[2048] __attribute__((aligned(8)));
	long seen = 0;
	ssize_t got;
	while (seen < SCAN_LIMIT && (got = getdents64(dfd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < got; seen++) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);
			off += de->d_reclen;
			if ((de->d_type != DT_REG && de->d_type != DT_UNKNOWN) || !is_tmp_name(de->d_name))
				continue;
			int fd = own(openat(dirfd, de->d_name,
					    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
			if (fd < 0)
				continue;
			struct stat st;
			struct timespec now;
			clock_gettime(CLOCK_REALTIME, &now);
			if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
			    !(st.st_size == 0 && now.tv_sec - st.st_mtime < YOUNG_EMPTY) &&
			    flock(fd, LOCK_EX | LOCK_NB) == 0)
				unlinkat(dirfd, de->d_name, 0);
			close(fd);
		}
	}
	close(dfd);
}
