/* test_fds.c - the profiler's fds (fds.c): where the floor sits for a soft
 * RLIMIT_NOFILE, adoption above it (close-on-exec, the low number freed, errno kept),
 * a limit the program lowers under the floor, a full range above the floor (the fd
 * is given up, never kept low), the libraries whose opens are claimed (libdw's once
 * dwlib.c has loaded it), pipe2, a late
 * close of a claimed number the program has taken over, and a thread with an fd
 * table of its own. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dwlib.h"
#include "fds.h"
#include "runtime.h"
#include "suites.h"

static struct rlimit saved;

static int init(void)
{
	fds_init();
	if (!dwlib_load())   /* libdw's code range is noted when it is loaded */
		return -1;
	return getrlimit(RLIMIT_NOFILE, &saved);
}

static int clean(void)
{
	return setrlimit(RLIMIT_NOFILE, &saved);
}

static int set_soft(rlim_t soft)
{
	struct rlimit rl = saved;
	rl.rlim_cur = soft;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int cloexec(int fd)
{
	return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

/* Adopt a fresh low fd; check it moved into [lo, hi), close-on-exec, errno kept. */
static void adopt_into(int lo, int hi)
{
	int low = open("/dev/null", O_RDONLY);
	CU_ASSERT_FATAL(low >= 0 && low < lo);
	errno = 1234;
	int fd = fds_adopt(low);
	CU_ASSERT_EQUAL(errno, 1234);
	CU_ASSERT(fd >= lo && fd < hi);
	CU_ASSERT(cloexec(fd));
	CU_ASSERT(!is_open(low));
	close(fd);
}

static void test_floor_and_adopt(void)
{
	if (saved.rlim_cur < 1024) {
		CU_PASS("soft RLIMIT_NOFILE below 1024: not checked");
		return;
	}
	/* 1024 with the soft limit the tests started with, if that is 1088 or more; the
	 * program lowers the limit under the floor: the floor follows. */
	CU_ASSERT(fds_floor() == (saved.rlim_cur >= 1088 ? 1024 : (int)saved.rlim_cur - 64));
	CU_ASSERT_FATAL(set_soft(1024) == 0);
	adopt_into(960, 1024);
	CU_ASSERT_EQUAL(fds_floor(), 960);
	CU_ASSERT_FATAL(set_soft(200) == 0);
	adopt_into(136, 200);
	CU_ASSERT_EQUAL(fds_floor(), 136);
	CU_ASSERT_FATAL(set_soft(40) == 0);
	adopt_into(20, 40);
	CU_ASSERT_EQUAL(fds_floor(), 20);

	/* Already above the floor: kept, made close-on-exec. */
	int low = open("/dev/null", O_RDONLY);
	int high = fcntl(low, F_DUPFD, 30);
	close(low);
	CU_ASSERT_EQUAL(fds_adopt(high), high);
	CU_ASSERT(cloexec(high));
	close(high);
	CU_ASSERT_EQUAL(fds_adopt(-1), -1);
}

static void test_full_above_floor(void)
{
	CU_ASSERT_FATAL(set_soft(40) == 0);
	(void)fds_floor();
	int fill[40], n = 0, x;
	int base = open("/dev/null", O_RDONLY);
	while (n < 40 && (x = fcntl(base, F_DUPFD, fds_floor())) >= 0)
		fill[n++] = x;
	CU_ASSERT_EQUAL(n, 40 - fds_floor());
	int low = open("/dev/null", O_RDONLY);
	CU_ASSERT_FATAL(low >= 0);
	errno = 0;
	CU_ASSERT_EQUAL(fds_adopt(low), -1);
	CU_ASSERT_EQUAL(errno, EMFILE);
	CU_ASSERT(!is_open(low));   /* given up, not kept on the program's number */
	while (n > 0)
		close(fill[--n]);
	close(base);
}

static void test_claim_and_pipe(void)
{
	CU_ASSERT_FATAL(set_soft(saved.rlim_cur) == 0);
	uintptr_t in_libdw = (uintptr_t)dwlib.dwfl_begin;
	uintptr_t in_test = (uintptr_t)&test_claim_and_pipe;
	CU_ASSERT(fds_ours(in_libdw));
	CU_ASSERT(!fds_ours(in_test));

	int low = open("/dev/null", O_RDONLY);
	CU_ASSERT_EQUAL(fds_claim(low, in_libdw), low);   /* outside the profiler: untouched */
	runtime_guard++;
	CU_ASSERT_EQUAL(fds_claim(low, in_test), low);    /* not one of its libraries */
	int fd = fds_claim(low, in_libdw);
	runtime_guard--;
	CU_ASSERT(fd >= fds_floor() && cloexec(fd));
	CU_ASSERT(!is_open(low));
	close(fd);

	int saved_refuse = fds_refuse_pipes;   /* set by stacks_global_init */
	fds_refuse_pipes = 0;
	int p[2] = { -1, -1 };
	CU_ASSERT_EQUAL(fds_pipe2(p, O_NONBLOCK), 0);
	CU_ASSERT(p[0] >= fds_floor() && p[1] >= fds_floor() && cloexec(p[0]) && cloexec(p[1]));
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	char c = 0;
	CU_ASSERT_EQUAL(read(p[0], &c, 1), 1);
	runtime_guard++;   /* libunwind closing them: the interposed close asks first */
	CU_ASSERT_EQUAL(fds_disowned(p[0], in_libdw), 0);
	CU_ASSERT_EQUAL(fds_disowned(p[1], in_libdw), 0);
	runtime_guard--;
	close(p[0]);
	close(p[1]);
	int next = open("/dev/null", O_RDONLY);
	close(next);
	fds_refuse_pipes = 1;
	p[0] = p[1] = -1;
	errno = 0;
	CU_ASSERT_EQUAL(fds_pipe2(p, 0), -1);
	CU_ASSERT_EQUAL(errno, EMFILE);
	CU_ASSERT(p[0] == -1 && p[1] == -1);
	fds_refuse_pipes = saved_refuse;
	int again = open("/dev/null", O_RDONLY);
	CU_ASSERT_EQUAL(again, next);   /* nothing was opened */
	close(again);
}

/* A close that libdw makes for the profiler is real only while the number still holds
 * the file it claimed (libdwfl closes a debug file's fd long after opening it). */
static void test_disowned(void)
{
	CU_ASSERT_FATAL(set_soft(saved.rlim_cur) == 0);
	uintptr_t in_libdw = (uintptr_t)dwlib.dwfl_begin;
	uintptr_t in_test = (uintptr_t)&test_disowned;
	runtime_guard++;
	int fd = fds_claim(open("/dev/null", O_RDONLY), in_libdw);
	CU_ASSERT_FATAL(fd >= fds_floor());
	CU_ASSERT_EQUAL(fds_disowned(fd, in_libdw), 0);   /* still the file: a real close */
	close(fd);

	/* The program closes it (closefrom) and puts a file of its own on the number. */
	fd = fds_claim(open("/dev/null", O_RDONLY), in_libdw);
	close(fd);
	int mine = open("/", O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(dup2(mine, fd) == fd);
	close(mine);
	CU_ASSERT_EQUAL(fds_disowned(fd, in_libdw), 1);   /* skipped: the program's */
	CU_ASSERT(is_open(fd));
	close(fd);

	/* ... or leaves the number free. */
	fd = fds_claim(open("/dev/null", O_RDONLY), in_libdw);
	close(fd);
	CU_ASSERT_EQUAL(fds_disowned(fd, in_libdw), 1);

	/* Numbers never claimed, and callers other than the profiler's libraries. */
	fd = fds_claim(open("/dev/null", O_RDONLY), in_libdw);
	CU_ASSERT_EQUAL(fds_disowned(fd + 1, in_libdw), 0);
	CU_ASSERT_EQUAL(fds_disowned(fd, in_test), 0);
	runtime_guard--;
	CU_ASSERT_EQUAL(fds_disowned(fd, in_libdw), 0);   /* outside the profiler */
	close(fd);
}

/* What a thread with a table of its own sees (filled in by private_thread). */
struct private_view {
	int rc;                    /* fds_private_table's */
	int fd;                    /* a file it opened */
	struct stat file;          /* that file */
	struct stat zero;          /* its fd 0 */
	struct stat err;           /* the program's fd 2, through fds_stderr */
	int err_ok;
};

static void *private_thread(void *arg)
{
	struct private_view *v = arg;
	v->rc = fds_private_table();
	v->fd = open("/", O_RDONLY | O_DIRECTORY);
	fstat(v->fd, &v->file);
	fstat(0, &v->zero);
	int e = fds_stderr();
	v->err_ok = e >= 0 && fstat(e, &v->err) == 0;
	fds_stderr_done(e);
	return NULL;
}

/* The writer's and symbolizer's fds never enter the program's table; their messages
 * still reach the program's fd 2. */
static void test_private_table(void)
{
	struct private_view v;
	memset(&v, 0, sizeof(v));
	pthread_t t;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, private_thread, &v) == 0);
	pthread_join(t, NULL);
	if (v.rc != 0) {
		CU_PASS("no close_range/pidfd_getfd here: the thread shares the table");
		return;
	}
	struct stat here, null, err;
	CU_ASSERT(fstat(v.fd, &here) != 0 || here.st_ino != v.file.st_ino ||
		  here.st_dev != v.file.st_dev);   /* not in this table */
	CU_ASSERT_FATAL(stat("/dev/null", &null) == 0);
	CU_ASSERT_EQUAL(v.zero.st_rdev, null.st_rdev);   /* its 0-2: /dev/null */
	CU_ASSERT_FATAL(fstat(2, &err) == 0);
	CU_ASSERT(v.err_ok && v.err.st_dev == err.st_dev && v.err.st_ino == err.st_ino);
}

void suite_fds(void)
{
	CU_pSuite s = CU_add_suite("fds", init, clean);
	CU_add_test(s, "floor and adoption", test_floor_and_adopt);
	CU_add_test(s, "nothing free above the floor", test_full_above_floor);
	CU_add_test(s, "claimed opens and pipe2", test_claim_and_pipe);
	CU_add_test(s, "a claimed fd the program took over", test_disowned);
	CU_add_test(s, "a thread with a table of its own", test_private_table);
}
