/* test_atomicfile.c - the one output writer (common/atomicfile.c): new and replaced
 * regular files (mode, 255-byte names, nothing left beside them), special files
 * written into and never replaced (a device node, FIFOs with and without a reader,
 * a reader that goes away without SIGPIPE, our own descriptor through /proc),
 * directories and sockets refused, symbolic links followed unless planted in a
 * sticky directory, the named fallback without O_TMPFILE, and the removal of
 * temporary files whose writer died. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomicfile.h"
#include "suites.h"

static char root[64];

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb; (void)flag; (void)f;
	return remove(p);
}

static int init(void)
{
	strcpy(root, "/tmp/apatomic.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int clean(void)
{
	atomicfile_testing_no_tmpfile = 0;
	atomicfile_testing_link = 0;
	return nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* A fresh empty directory root/name, in buf. */
static void fresh(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", root, name);
	nftw(buf, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	CU_ASSERT_EQUAL_FATAL(mkdir(buf, 0755), 0);
	atomicfile_testing_forget();
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static int file_is(const char *path, const char *text)
{
	char buf[256] = { 0 };
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	return n == strlen(text) && memcmp(buf, text, n) == 0;
}

static int put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* The whole writer: open, write text, commit. Returns 0, or -1 with errno. */
static int write_text(const char *path, const char *text, mode_t mode, int flags)
{
	static struct atomicfile af;
	if (atomicfile_open(&af, path, mode, flags) != 0)
		return -1;
	if (atomicfile_write(&af, text, strlen(text)) != 0) {
		atomicfile_abort(&af);
		return -1;
	}
	return atomicfile_commit(&af);
}

/* ------------------------------------------------------------ regular files */

/* New and replaced files: content, mode `mode & ~umask`, a new inode each time,
 * nothing else left in the directory; with and without O_TMPFILE. */
static void check_regular(const char *name)
{
	char dir[128], path[192];
	fresh(dir, sizeof(dir), name);
	snprintf(path, sizeof(path), "%s/out.json", dir);
	mode_t old = umask(027);
	CU_ASSERT_EQUAL(write_text(path, "one\n", 0666, ATOMICFILE_SYNC), 0);
	umask(old);
	struct stat a, b;
	CU_ASSERT_EQUAL_FATAL(stat(path, &a), 0);
	CU_ASSERT_EQUAL(a.st_mode & 07777, 0640);
	CU_ASSERT(file_is(path, "one\n"));
	int fd = open(path, O_RDONLY);     /* a reader of the old version keeps it */
	CU_ASSERT_EQUAL(write_text(path, "two\n", 0600, 0), 0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &b), 0);
	CU_ASSERT_NOT_EQUAL(a.st_ino, b.st_ino);
	CU_ASSERT_EQUAL(b.st_mode & 07777, 0600 & ~old);
	CU_ASSERT(file_is(path, "two\n"));
	char buf[8] = { 0 };
	CU_ASSERT_EQUAL(read(fd, buf, sizeof(buf)), 4);
	CU_ASSERT_STRING_EQUAL(buf, "one\n");
	close(fd);
	CU_ASSERT_EQUAL(entries(dir), 1);
}

static void test_regular(void)
{
	check_regular("regular");
}

static void test_regular_named(void)
{
	atomicfile_testing_no_tmpfile = 1;
	check_regular("named");
	atomicfile_testing_no_tmpfile = 0;
}

/* The unnamed file named through /proc/self/fd (no CAP_DAC_READ_SEARCH), and copied
 * into a named one (no /proc either). */
static void test_regular_link_routes(void)
{
	atomicfile_testing_link = 1;
	check_regular("viaproc");
	atomicfile_testing_link = 2;
	check_regular("copied");
	atomicfile_testing_link = 0;
}

/* A name of NAME_MAX (255) bytes, and 250: the temporary name is not derived from it. */
static void test_long_name(void)
{
	char dir[128], path[512];
	fresh(dir, sizeof(dir), "long");
	for (int named = 0; named <= 1; named++) {
		atomicfile_testing_no_tmpfile = named;
		for (int len = 250; len <= 255; len += 5) {
			int n = snprintf(path, sizeof(path), "%s/", dir);
			memset(path + n, named ? 'n' : 't', (size_t)len);
			path[n + len] = '\0';
			CU_ASSERT_EQUAL(write_text(path, "long\n", 0666, 0), 0);
			CU_ASSERT(file_is(path, "long\n"));
		}
	}
	atomicfile_testing_no_tmpfile = 0;
	CU_ASSERT_EQUAL(entries(dir), 4);
	/* 256 bytes is not a valid name: the error is the system's. */
	int n = snprintf(path, sizeof(path), "%s/", dir);
	memset(path + n, 'x', 256);
	path[n + 256] = '\0';
	errno = 0;
	CU_ASSERT_EQUAL(write_text(path, "x", 0666, 0), -1);
	CU_ASSERT_EQUAL(errno, ENAMETOOLONG);
}

/* Giving up leaves nothing; an existing target stays as it was. */
static void test_abort(void)
{
	char dir[128], path[192];
	fresh(dir, sizeof(dir), "abort");
	snprintf(path, sizeof(path), "%s/out", dir);
	CU_ASSERT_EQUAL_FATAL(put_file(path, "old\n"), 0);
	for (int named = 0; named <= 1; named++) {
		atomicfile_testing_no_tmpfile = named;
		struct atomicfile af;
		CU_ASSERT_EQUAL_FATAL(atomicfile_open(&af, path, 0666, 0), 0);
		CU_ASSERT_EQUAL(atomicfile_write(&af, "new", 3), 0);
		errno = ENOSPC;
		atomicfile_abort(&af);
		CU_ASSERT_EQUAL(errno, ENOSPC);
		CU_ASSERT(file_is(path, "old\n"));
		CU_ASSERT_EQUAL(entries(dir), 1);
	}
	atomicfile_testing_no_tmpfile = 0;
}

/* ------------------------------------------------------------ special files */

/* A device node of our own (the null device's numbers; root only) stays a device. */
static void test_device(void)
{
	char dir[128], path[192];
	fresh(dir, sizeof(dir), "device");
	snprintf(path, sizeof(path), "%s/null", dir);
	if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) != 0) {
		fprintf(stderr, "  (mknod: %s: device case not run)\n", strerror(errno));
		return;
	}
	for (int named = 0; named <= 1; named++) {
		atomicfile_testing_no_tmpfile = named;
		CU_ASSERT_EQUAL(write_text(path, "profile\n", 0666, ATOMICFILE_SYNC), 0);
		struct stat st;
		CU_ASSERT_EQUAL_FATAL(lstat(path, &st), 0);
		CU_ASSERT(S_ISCHR(st.st_mode));
		CU_ASSERT_EQUAL(st.st_rdev, makedev(1, 3));
	}
	atomicfile_testing_no_tmpfile = 0;
	CU_ASSERT_EQUAL(entries(dir), 1);
}

/* A FIFO: with ATOMICFILE_NOWAIT and no reader, ENXIO at once; with a reader, the
 * data goes through it and the FIFO stays. */
static void test_fifo(void)
{
	char dir[128], path[192];
	fresh(dir, sizeof(dir), "fifo");
	snprintf(path, sizeof(path), "%s/p", dir);
	CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
	errno = 0;
	CU_ASSERT_EQUAL(write_text(path, "x", 0666, ATOMICFILE_NOWAIT), -1);
	CU_ASSERT_EQUAL(errno, ENXIO);
	CU_ASSERT_STRING_EQUAL(atomicfile_strerror(ENXIO),
			       "is a FIFO that no process has open for reading");
	int rd = open(path, O_RDONLY | O_NONBLOCK);
	CU_ASSERT_FATAL(rd >= 0);
	CU_ASSERT_EQUAL(write_text(path, "through\n", 0666, ATOMICFILE_NOWAIT | ATOMICFILE_SYNC), 0);
	char buf[32] = { 0 };
	CU_ASSERT_EQUAL(read(rd, buf, sizeof(buf)), 8);
	CU_ASSERT_STRING_EQUAL(buf, "through\n");
	close(rd);
	struct stat st;
	CU_ASSERT_EQUAL(lstat(path, &st), 0);
	CU_ASSERT(S_ISFIFO(st.st_mode));
	CU_ASSERT_EQUAL(entries(dir), 1);
}

static volatile sig_atomic_t sigpipes;
static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

/* The reader goes away: with ATOMICFILE_NOSIGPIPE the write fails with EPIPE and no
 * SIGPIPE is delivered or left pending; without it, SIGPIPE comes as usual. */
static void test_fifo_reader_gone(void)
{
	char dir[128], path[192];
	fresh(dir, sizeof(dir), "fifogone");
	snprintf(path, sizeof(path), "%s/p", dir);
	CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigpipe;
	sigaction(SIGPIPE, &sa, &old);
	for (int guard = 1; guard >= 0; guard--) {
		sigpipes = 0;
		int rd = open(path, O_RDONLY | O_NONBLOCK);
		CU_ASSERT_FATAL(rd >= 0);
		struct atomicfile af;
		int flags = ATOMICFILE_NOWAIT | (guard ? ATOMICFILE_NOSIGPIPE : 0);
		CU_ASSERT_EQUAL_FATAL(atomicfile_open(&af, path, 0666, flags), 0);
		close(rd);
		errno = 0;
		CU_ASSERT_EQUAL(atomicfile_write(&af, "lost", 4), -1);
		CU_ASSERT_EQUAL(errno, EPIPE);
		atomicfile_abort(&af);
		sigset_t pending;
		sigpending(&pending);
		CU_ASSERT_FALSE(sigismember(&pending, SIGPIPE));
		CU_ASSERT_EQUAL(sigpipes, guard ? 0 : 1);
	}
	sigaction(SIGPIPE, &old, NULL);
}

/* Directories and sockets are refused with their own messages, and stay. */
static void test_refused(void)
{
	char dir[128], path[192];
	fresh(dir, sizeof(dir), "refused");
	snprintf(path, sizeof(path), "%s/d", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
	errno = 0;
	CU_ASSERT_EQUAL(write_text(path, "x", 0666, 0), -1);
	CU_ASSERT_EQUAL(errno, EISDIR);
	CU_ASSERT_STRING_EQUAL(atomicfile_strerror(EISDIR), "is a directory");
	snprintf(path, sizeof(path), "%s/", dir);
	errno = 0;
	CU_ASSERT_EQUAL(write_text(path, "x", 0666, 0), -1);
	CU_ASSERT_EQUAL(errno, EISDIR);

	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	CU_ASSERT_FATAL(snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s", dir) <
			(int)sizeof(sun.sun_path));
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(s >= 0);
	CU_ASSERT_EQUAL_FATAL(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	errno = 0;
	CU_ASSERT_EQUAL(write_text(sun.sun_path, "x", 0666, 0), -1);
	CU_ASSERT_EQUAL(errno, EPROTOTYPE);
	CU_ASSERT_PTR_NOT_NULL(strstr(atomicfile_strerror(EPROTOTYPE), "is a socket"));
	close(s);
	struct stat st;
	CU_ASSERT_EQUAL(lstat(sun.sun_path, &st), 0);
	CU_ASSERT(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(entries(dir), 2);
}

/* /proc/self/fd/N of a regular file of ours (what /dev/stdout is after `> file`): the
 * data goes into that open file at its offset, after what it already holds; the file
 * is not replaced. */
static void test_own_fd(void)
{
	char dir[128], path[192], link[192], proc[64];
	fresh(dir, sizeof(dir), "ownfd");
	snprintf(path, sizeof(path), "%s/stdout", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "before\n", 7), 7);
	struct stat a, b;
	CU_ASSERT_EQUAL(fstat(fd, &a), 0);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	snprintf(link, sizeof(link), "%s/out", dir);
	CU_ASSERT_EQUAL_FATAL(symlink(proc, link), 0);
	CU_ASSERT_EQUAL(write_text(link, "profile\n", 0666, ATOMICFILE_SYNC), 0);
	CU_ASSERT_EQUAL(write(fd, "after\n", 6), 6);
	close(fd);
	CU_ASSERT(file_is(path, "before\nprofile\nafter\n"));
	CU_ASSERT_EQUAL(stat(path, &b), 0);
	CU_ASSERT_EQUAL(a.st_ino, b.st_ino);
	CU_ASSERT_EQUAL(lstat(link, &b), 0);
	CU_ASSERT(S_ISLNK(b.st_mode));
	CU_ASSERT_EQUAL(entries(dir), 2);
}

/* ------------------------------------------------------------ symbolic links */

/* A link (and a chain of two, one relative) to a regular file: the link stays, the
 * file it leads to is replaced. A dangling link creates what it names. */
static void test_symlink_followed(void)
{
	char dir[128], target[192], l1[192], l2[192];
	fresh(dir, sizeof(dir), "follow");
	snprintf(target, sizeof(target), "%s/real.json", dir);
	snprintf(l1, sizeof(l1), "%s/l1", dir);
	snprintf(l2, sizeof(l2), "%s/l2", dir);
	CU_ASSERT_EQUAL_FATAL(put_file(target, "old\n"), 0);
	CU_ASSERT_EQUAL_FATAL(symlink("real.json", l1), 0);
	CU_ASSERT_EQUAL_FATAL(symlink(l1, l2), 0);
	struct stat a, b;
	CU_ASSERT_EQUAL(stat(target, &a), 0);
	CU_ASSERT_EQUAL(write_text(l2, "new\n", 0666, 0), 0);
	CU_ASSERT(file_is(target, "new\n"));
	CU_ASSERT_EQUAL(stat(target, &b), 0);
	CU_ASSERT_NOT_EQUAL(a.st_ino, b.st_ino);  /* replaced, not written through */
	CU_ASSERT_EQUAL(lstat(l1, &b), 0);
	CU_ASSERT(S_ISLNK(b.st_mode));
	CU_ASSERT_EQUAL(lstat(l2, &b), 0);
	CU_ASSERT(S_ISLNK(b.st_mode));
	CU_ASSERT_EQUAL(entries(dir), 3);

	unlink(target);
	CU_ASSERT_EQUAL(write_text(l1, "created\n", 0666, 0), 0);
	CU_ASSERT(file_is(target, "created\n"));

	/* A loop. */
	char la[192], lb[192];
	snprintf(la, sizeof(la), "%s/la", dir);
	snprintf(lb, sizeof(lb), "%s/lb", dir);
	CU_ASSERT_EQUAL_FATAL(symlink("lb", la), 0);
	CU_ASSERT_EQUAL_FATAL(symlink("la", lb), 0);
	errno = 0;
	CU_ASSERT_EQUAL(write_text(la, "x", 0666, 0), -1);
	CU_ASSERT_EQUAL(errno, ELOOP);
}

/* In a sticky world-writable directory, a link of another user (not the directory's
 * owner) is replaced, never followed; our own is followed. Root only (lchown). */
static void test_symlink_planted(void)
{
	char dir[128], victim[192], link[192];
	fresh(dir, sizeof(dir), "sticky");
	CU_ASSERT_EQUAL_FATAL(chmod(dir, 01777), 0);
	snprintf(victim, sizeof(victim), "%s/victim", root);
	snprintf(link, sizeof(link), "%s/out.json", dir);
	CU_ASSERT_EQUAL_FATAL(put_file(victim, "precious\n"), 0);
	CU_ASSERT_EQUAL_FATAL(symlink(victim, link), 0);
	CU_ASSERT_EQUAL(write_text(link, "own link\n", 0666, 0), 0);   /* ours: followed */
	CU_ASSERT(file_is(victim, "own link\n"));
	CU_ASSERT_EQUAL_FATAL(put_file(victim, "precious\n"), 0);
	if (lchown(link, 65534, 65534) != 0) {
		fprintf(stderr, "  (lchown: %s: planted-link case not run)\n", strerror(errno));
		return;
	}
	CU_ASSERT_EQUAL(write_text(link, "profile\n", 0666, 0), 0);
	CU_ASSERT(file_is(victim, "precious\n"));
	struct stat st;
	CU_ASSERT_EQUAL(lstat(link, &st), 0);
	CU_ASSERT(S_ISREG(st.st_mode));
	CU_ASSERT(file_is(link, "profile\n"));
	unlink(victim);
}

/* ------------------------------------------------------------ stale temporary files */

/* Files of our naming: one whose writer died (unlocked, with data) is removed by the
 * next write in the directory; one locked by a live writer stays, as does an empty one
 * made a moment ago; files of other names are never touched. */
static void test_stale_removed(void)
{
	char dir[128], dead[192], live[192], young[192], other[192], out[192];
	fresh(dir, sizeof(dir), "stale");
	snprintf(dead, sizeof(dead), "%s/.audioprof.deadwriter01.tmp", dir);
	snprintf(live, sizeof(live), "%s/.audioprof.livewriter01.tmp", dir);
	snprintf(young, sizeof(young), "%s/.audioprof.youngempty01.tmp", dir);
	snprintf(other, sizeof(other), "%s/.audioprof.NotOurs.tmp", dir);
	snprintf(out, sizeof(out), "%s/out.json", dir);
	CU_ASSERT_EQUAL_FATAL(put_file(dead, "half a profile"), 0);
	CU_ASSERT_EQUAL_FATAL(put_file(live, "being written"), 0);
	CU_ASSERT_EQUAL_FATAL(put_file(young, ""), 0);
	CU_ASSERT_EQUAL_FATAL(put_file(other, "x"), 0);
	/* The live writer: a child process holding the lock until told to go. */
	int go[2], ready[2];
	CU_ASSERT_EQUAL_FATAL(pipe(go), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(ready), 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		close(ready[0]);
		int fd = open(live, O_RDWR);
		char c = 0;
		if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(ready[1], &c, 1) != 1)
			_exit(1);
		_exit(read(go[0], &c, 1) == 0 ? 0 : 2);
	}
	close(go[0]);
	close(ready[1]);
	char c;
	CU_ASSERT_EQUAL_FATAL(read(ready[0], &c, 1), 1);
	CU_ASSERT_EQUAL(write_text(out, "{}\n", 0666, 0), 0);
	CU_ASSERT_EQUAL(access(dead, F_OK), -1);
	CU_ASSERT_EQUAL(access(live, F_OK), 0);
	CU_ASSERT_EQUAL(access(young, F_OK), 0);
	CU_ASSERT_EQUAL(access(other, F_OK), 0);
	CU_ASSERT_EQUAL(entries(dir), 4);
	close(go[1]);                      /* the live writer dies: its file is stale */
	int status;
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
	/* Each directory is looked through once per process; a new process would look. */
	CU_ASSERT_EQUAL(write_text(out, "{}\n", 0666, 0), 0);
	CU_ASSERT_EQUAL(access(live, F_OK), 0);
	atomicfile_testing_forget();
	CU_ASSERT_EQUAL(write_text(out, "{}\n", 0666, 0), 0);
	CU_ASSERT_EQUAL(access(live, F_OK), -1);
	CU_ASSERT_EQUAL(entries(dir), 3);
}

/* ------------------------------------------------------------ descriptors */

static int hook_calls;
static int hook(int fd)
{
	hook_calls++;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 500);
	close(fd);
	return high;
}

/* Every descriptor goes through the hook, and is close-on-exec. */
static void test_fd_hook(void)
{
	char dir[128], path[192];
	fresh(dir, sizeof(dir), "hook");
	snprintf(path, sizeof(path), "%s/out", dir);
	atomicfile_set_fd_hook(hook);
	hook_calls = 0;
	struct atomicfile af;
	CU_ASSERT_EQUAL_FATAL(atomicfile_open(&af, path, 0666, 0), 0);
	CU_ASSERT(af.fd >= 500);
	CU_ASSERT(af.dirfd >= 500);
	CU_ASSERT(fcntl(af.fd, F_GETFD) & FD_CLOEXEC);
	CU_ASSERT(fcntl(af.dirfd, F_GETFD) & FD_CLOEXEC);
	CU_ASSERT_EQUAL(atomicfile_write(&af, "x\n", 2), 0);
	CU_ASSERT_EQUAL(atomicfile_commit(&af), 0);
	CU_ASSERT_EQUAL(hook_calls, 3);    /* directory, file, the stale-file scan */
	atomicfile_set_fd_hook(NULL);
	CU_ASSERT(file_is(path, "x\n"));
}

void suite_atomicfile(void)
{
	CU_pSuite s = CU_add_suite("atomicfile", init, clean);
	if (!s)
		return;
	CU_add_test(s, "regular file: new, replaced, mode", test_regular);
	CU_add_test(s, "regular file without O_TMPFILE", test_regular_named);
	CU_add_test(s, "unnamed file linked via /proc, or copied", test_regular_link_routes);
	CU_add_test(s, "names of 250 and 255 bytes", test_long_name);
	CU_add_test(s, "abort leaves the old file", test_abort);
	CU_add_test(s, "device node written into, stays a device", test_device);
	CU_add_test(s, "FIFO: no reader is ENXIO, a reader gets the data", test_fifo);
	CU_add_test(s, "FIFO reader gone: EPIPE without SIGPIPE", test_fifo_reader_gone);
	CU_add_test(s, "directory and socket refused", test_refused);
	CU_add_test(s, "our own descriptor through /proc: written at its offset", test_own_fd);
	CU_add_test(s, "symbolic links followed to the file", test_symlink_followed);
	CU_add_test(s, "link planted in a sticky directory replaced", test_symlink_planted);
	CU_add_test(s, "temporary files of dead writers removed", test_stale_removed);
	CU_add_test(s, "descriptors through the hook, close-on-exec", test_fd_hook);
}
