/* fdspace.c - programs that care which file descriptors they hold (t_fdspace.sh). Each
 * mode prints what it observes: the numbers open() and pipe() return, what read() and
 * write() on its own fds return, the bytes of a file it keeps at fd 4. Run natively and
 * under the preload, the output must be the same, byte for byte.
 *
 * Every mode first makes the profiler unwind and symbolize: churn() allocates from
 * many distinct stacks, some through nocfi_call, a function without unwind
 * information, where libunwind falls back to following the frame-pointer chain and
 * validates each read (libunwind 1.6 validates by writing a byte of the address into
 * a pipe it opened on the lowest free fds).
 *
 *   fdspace pipe3      a pipe with data dup2'ed onto fd 3, read back after the churn;
 *                      then the fds below 100 it holds
 *   fdspace file4 F    file F kept at fd 4; its contents after the churn; its fds
 *   fdspace closed OUT started with fds 0-2 closed: read(0), write(1), write(2), three
 *                      open()s; results into file OUT
 *   fdspace daemon MOD OUT   allocate in module MOD (dlopen), close 0-2, dlclose MOD
 *                      (the profiler symbolizes the module's frames there and then),
 *                      three open()s, then exec "fdspace report OUT" which lists the
 *                      fds it inherited: results into OUT
 *   fdspace report OUT the exec'd half of daemon */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "progs.h"

/* void *nocfi_call(void *(*fn)(long), long arg): calls fn(arg) from a frame that has
 * a frame pointer but no CFI, so no unwinder finds unwind information for it. */
void *nocfi_call(void *(*fn)(long), long arg);
__asm__(".text\n"
	".globl nocfi_call\n"
	".type nocfi_call, @function\n"
	"nocfi_call:\n"
	"\tpush %rbp\n"
	"\tmov %rsp, %rbp\n"
	"\tmov %rdi, %rax\n"
	"\tmov %rsi, %rdi\n"
	"\tcall *%rax\n"
	"\tpop %rbp\n"
	"\tret\n"
	".size nocfi_call, .-nocfi_call\n");

static void *volatile sink;

/* Distinct stacks: each depth of each recursion is a new site. */
NOINLINE void *leaf_a(long n) { return malloc((size_t)n + 1); }
NOINLINE void *rec_a(long n) { return n > 0 ? rec_a(n - 1) : leaf_a(n); }
NOINLINE void *rec_b(long n) { return n > 0 ? nocfi_call(rec_b, n - 1) : leaf_a(n); }
NOINLINE void *via_nocfi(long n) { return nocfi_call(rec_a, n); }

NOINLINE void *churn_thread(void *arg)
{
	long base = (long)arg;
	for (long d = 0; d < 24; d++) {
		free(rec_a(d + base));
		free(via_nocfi(d));
		free(rec_b(d));
	}
	return NULL;
}

/* On a new thread (fresh stack pages, fresh per-thread unwinder caches), so that every
 * call unwinds and validates again. */
static void churn(void)
{
	pthread_t t;
	PROG_CHECK(pthread_create(&t, NULL, churn_thread, NULL) == 0, "pthread_create");
	PROG_CHECK(pthread_join(t, NULL) == 0, "pthread_join");
	churn_thread((void *)1L);
}

static void say_ret(char *out, size_t cap, const char *what, long r, int err)
{
	size_t n = strlen(out);
	if (r < 0)
		snprintf(out + n, cap - n, "%s -1 %s\n", what, strerrorname_np(err));
	else
		snprintf(out + n, cap - n, "%s %ld\n", what, r);
}

/* The fds below 100 this process holds (the numbers programs use), on one line. */
static void list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	PROG_CHECK(d != NULL, "opendir");
	char open_fds[100] = { 0 };
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd != dirfd(d) && fd < 100)
			open_fds[fd] = 1;
	}
	closedir(d);
	printf("fds");
	for (int fd = 0; fd < 100; fd++)
		if (open_fds[fd])
			printf(" %d", fd);
	printf("\n");
}

static void sigpipe_said(int sig)
{
	(void)sig;
	prog_say("SIGPIPE\n");
	_exit(3);
}

static int mode_pipe3(void)
{
	char buf[64];
	int p[2];
	signal(SIGPIPE, sigpipe_said);
	PROG_CHECK(pipe(p) == 0, "pipe");
	printf("pipe %d %d\n", p[0], p[1]);
	PROG_CHECK(write(p[1], "hello", 5) == 5, "write");
	if (p[0] != 3) {
		PROG_CHECK(dup2(p[0], 3) == 3, "dup2");
		close(p[0]);
	}
	churn();
	ssize_t n = read(3, buf, sizeof(buf));
	printf("read3 %zd %.*s\n", n, n > 0 ? (int)n : 0, buf);
	churn();
	PROG_CHECK(write(p[1], "again", 5) == 5, "write again");
	n = read(3, buf, sizeof(buf));
	printf("read3 %zd %.*s\n", n, n > 0 ? (int)n : 0, buf);
	list_fds();
	return 0;
}

static int mode_file4(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	PROG_CHECK(fd >= 0, "open");
	printf("open %d\n", fd);
	if (fd != 4) {
		PROG_CHECK(dup2(fd, 4) == 4, "dup2");
		close(fd);
	}
	PROG_CHECK(write(4, "data\n", 5) == 5, "write");
	churn();
	PROG_CHECK(write(4, "more\n", 5) == 5, "write more");
	churn();
	ssize_t n = pread(4, buf, sizeof(buf), 0);
	printf("size %zd\n", n);
	for (ssize_t i = 0; i < n; i++)
		printf(buf[i] >= ' ' && buf[i] < 127 ? "%c" : "\\x%02x", (unsigned char)buf[i]);
	printf("\n");
	list_fds();
	return 0;
}

/* Three open()s of /dev/null, their numbers into out. */
static void three_opens(char *out, size_t cap)
{
	for (int i = 0; i < 3; i++) {
		int fd = open("/dev/null", O_RDONLY);
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "open %d\n", fd);
	}
}

static void write_out(const char *path, const char *out)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	PROG_CHECK(fd >= 0, "open OUT");
	PROG_CHECK(write(fd, out, strlen(out)) == (ssize_t)strlen(out), "write OUT");
	close(fd);
}

static int mode_closed(const char *path)
{
	static char out[4096], big[70000];
	char c;
	for (int round = 0; round < 2; round++) {
		errno = 0;
		long r = read(0, &c, 1);
		say_ret(out, sizeof(out), "read0", r, errno);
		errno = 0;
		r = write(1, big, sizeof(big));
		say_ret(out, sizeof(out), "write1", r, errno);
		errno = 0;
		r = write(2, "x", 1);
		say_ret(out, sizeof(out), "write2", r, errno);
		churn();
	}
	three_opens(out, sizeof(out));
	write_out(path, out);
	return 0;
}

static int mode_daemon(const char *self, const char *mod, const char *path)
{
	static char out[4096];
	void *h = dlopen(mod, RTLD_NOW);
	PROG_CHECK(h != NULL, "dlopen");
	void *(*fn)(void) = (void *(*)(void))dlsym(h, "dlmod_alloc");
	PROG_CHECK(fn != NULL, "dlsym");
	churn();
	sink = fn();
	close(0);
	close(1);
	close(2);
	PROG_CHECK(dlclose(h) == 0, "dlclose");
	three_opens(out, sizeof(out));
	churn();
	three_opens(out, sizeof(out));
	/* Hand over to the exec'd image through the environment (it has no other channel
	 * that does not take an fd). */
	setenv("FDSPACE_BEFORE", out, 1);
	execl(self, self, "report", path, (char *)NULL);
	return 4;
}

/* Every fd this image holds, with what it refers to. */
static int mode_report(const char *path)
{
	static char out[8192];
	const char *before = getenv("FDSPACE_BEFORE");
	snprintf(out, sizeof(out), "%s", before ? before : "no FDSPACE_BEFORE\n");
	DIR *d = opendir("/proc/self/fd");
	PROG_CHECK(d != NULL, "opendir");
	struct dirent *e;
	int nfds = 0, fds[1024];
	while ((e = readdir(d)) != NULL && nfds < 1024)
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			fds[nfds++] = atoi(e->d_name);
	closedir(d);
	for (int i = 0; i < nfds; i++) {
		char name[32], target[512];
		snprintf(name, sizeof(name), "/proc/self/fd/%d", fds[i]);
		ssize_t n = readlink(name, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		size_t len = strlen(out);
		char *inode = strstr(target, ":[");   /* "pipe:[1234]": the kind only */
		if (inode)
			*inode = 0;
		snprintf(out + len, sizeof(out) - len, "inherited %d %s\n", fds[i], target);
	}
	three_opens(out, sizeof(out));
	write_out(path, out);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *m = argc > 1 ? argv[1] : "";
	if (strcmp(m, "pipe3") == 0)
		return mode_pipe3();
	if (strcmp(m, "file4") == 0 && argc > 2)
		return mode_file4(argv[2]);
	if (strcmp(m, "closed") == 0 && argc > 2)
		return mode_closed(argv[2]);
	if (strcmp(m, "daemon") == 0 && argc > 3)
		return mode_daemon(argv[0], argv[2], argv[3]);
	if (strcmp(m, "report") == 0 && argc > 2)
		return mode_report(argv[2]);
	fprintf(stderr, "usage: fdspace pipe3 | file4 FILE | closed OUT | daemon MOD OUT\n");
	return 2;
}
