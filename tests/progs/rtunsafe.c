/* rtunsafe.c - real-time-unsafe calls made a known number of times from distinct
 * functions, inside a region marked with AUDIOPROF_RT_ENTER/EXIT and (the same
 * functions, reached through another caller) outside it. For tests/integration/t_rtcheck.sh.
 *
 *   rtunsafe all DIR   every category, outside then inside the region "rtcheck";
 *                      DIR: a scratch directory for the file created with O_CREAT
 *   rtunsafe warn      three violations and a trylock warning inside the region
 *   rtunsafe abort     a trylock (a warning: no abort) then a usleep inside the region
 *                      (must not get past it under AUDIOPROF_ON_VIOLATION=abort)
 *   rtunsafe thread    threads "audio-rt" and "worker" each usleep 3 times and
 *                      malloc+free twice (AUDIOPROF_RT_THREADS=audio-rt)
 *
 * stdout carries only what the program itself prints (the same with and without the
 * preload). stderr carries, after the region, the expectations for the test:
 *     pid N
 *     expect CALL FUNCTION COUNT         (inside the region)
 *     counts rt_unsafe N allocs N        (this thread's counters over the region)
 */
#include "audioprof.h"
#include "progs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *scratch = "/tmp";
/* Lengths the compiler cannot see: a fortified build (-D_FORTIFY_SOURCE=2) then calls
 * __read_chk, __recv_chk, __fread_chk, ... (checked by t_rtcheck.sh too). */
static volatile size_t len2 = 2, len16 = 16, len32 = 32, len64 = 64;
static volatile nfds_t nfds0 = 0;
static int inside;          /* 1 while the calls are made inside the region */
static char expect_buf[8192];
static size_t expect_len;

/* Note an expectation (inside the region only); written to stderr after the region. */
static void expect(const char *call, const char *func, long n)
{
	if (!inside)
		return;
	int w = snprintf(expect_buf + expect_len, sizeof(expect_buf) - expect_len,
			 "expect %s %s %ld\n", call, func, n);
	if (w > 0 && (size_t)w < sizeof(expect_buf) - expect_len)
		expect_len += (size_t)w;
}

static struct timespec in_ms(long ms)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

/* ------------------------------------------------------------ locks */

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spin;
static pthread_barrier_t bar;
static sem_t sem, go;
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile int flag;

NOINLINE void v_mutex(void)
{
	for (int i = 0; i < 3; i++) {
		PROG_CHECK(pthread_mutex_lock(&mtx) == 0, "lock");
		pthread_mutex_unlock(&mtx);
	}
	struct timespec t = in_ms(1000);
	for (int i = 0; i < 2; i++) {
		PROG_CHECK(pthread_mutex_timedlock(&mtx, &t) == 0, "timedlock");
		pthread_mutex_unlock(&mtx);
	}
	expect("pthread_mutex_lock", "v_mutex", 3);
	expect("pthread_mutex_timedlock", "v_mutex", 2);
}

NOINLINE void v_rwlock(void)
{
	struct timespec t = in_ms(1000);
	for (int i = 0; i < 2; i++) {
		pthread_rwlock_rdlock(&rw);
		pthread_rwlock_unlock(&rw);
		pthread_rwlock_wrlock(&rw);
		pthread_rwlock_unlock(&rw);
	}
	pthread_rwlock_timedrdlock(&rw, &t);
	pthread_rwlock_unlock(&rw);
	pthread_rwlock_timedwrlock(&rw, &t);
	pthread_rwlock_unlock(&rw);
	expect("pthread_rwlock_rdlock", "v_rwlock", 2);
	expect("pthread_rwlock_wrlock", "v_rwlock", 2);
	expect("pthread_rwlock_timedrdlock", "v_rwlock", 1);
	expect("pthread_rwlock_timedwrlock", "v_rwlock", 1);
}

NOINLINE void v_spin_sem_barrier(void)
{
	for (int i = 0; i < 3; i++) {
		pthread_spin_lock(&spin);
		pthread_spin_unlock(&spin);
	}
	sem_post(&sem);
	sem_post(&sem);
	sem_post(&sem);
	for (int i = 0; i < 2; i++)
		PROG_CHECK(sem_wait(&sem) == 0, "sem_wait");
	struct timespec t = in_ms(1000);
	PROG_CHECK(sem_timedwait(&sem, &t) == 0, "sem_timedwait");
	for (int i = 0; i < 2; i++)
		pthread_barrier_wait(&bar);   /* count 1: never waits */
	expect("pthread_spin_lock", "v_spin_sem_barrier", 3);
	expect("sem_wait", "v_spin_sem_barrier", 2);
	expect("sem_timedwait", "v_spin_sem_barrier", 1);
	expect("pthread_barrier_wait", "v_spin_sem_barrier", 2);
}

/* The signaller: one round per call of v_cond, started outside the region. */
static void *signaller(void *arg)
{
	for (int round = 0; round < 2; round++) {
		while (sem_wait(&go) != 0)
			;
		pthread_mutex_lock(&cm);
		flag = 1;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&cm);
	}
	return arg;
}

NOINLINE void v_cond(void)
{
	pthread_mutex_lock(&cm);
	struct timespec past = { 1, 0 };
	for (int i = 0; i < 2; i++)
		PROG_CHECK(pthread_cond_timedwait(&cv, &cm, &past) == ETIMEDOUT, "timedwait");
	flag = 0;
	sem_post(&go);
	long waits = 0;
	while (!flag) {   /* the signaller needs cm: it runs once we wait */
		pthread_cond_wait(&cv, &cm);
		waits++;
	}
	pthread_mutex_unlock(&cm);
	expect("pthread_mutex_lock", "v_cond", 1);
	expect("pthread_cond_timedwait", "v_cond", 2);
	expect("pthread_cond_wait", "v_cond", waits);
}

NOINLINE void v_trylock(void)
{
	for (int i = 0; i < 3; i++) {
		PROG_CHECK(pthread_mutex_trylock(&mtx) == 0, "trylock");
		pthread_mutex_unlock(&mtx);
	}
	pthread_rwlock_tryrdlock(&rw);
	pthread_rwlock_unlock(&rw);
	pthread_rwlock_trywrlock(&rw);
	pthread_rwlock_unlock(&rw);
	pthread_spin_trylock(&spin);
	pthread_spin_unlock(&spin);
	for (int i = 0; i < 2; i++)
		PROG_CHECK(sem_trywait(&sem) == -1 && errno == EAGAIN, "sem_trywait");
	expect("pthread_mutex_trylock", "v_trylock", 3);
	expect("pthread_rwlock_tryrdlock", "v_trylock", 1);
	expect("pthread_rwlock_trywrlock", "v_trylock", 1);
	expect("pthread_spin_trylock", "v_trylock", 1);
	expect("sem_trywait", "v_trylock", 2);
}

/* ------------------------------------------------------------ sleeping */

NOINLINE void v_sleep(void)
{
	struct timespec t = { 0, 1000 };
	sleep(0);
	for (int i = 0; i < 2; i++)
		usleep(1);
	for (int i = 0; i < 2; i++)
		nanosleep(&t, NULL);
	clock_nanosleep(CLOCK_MONOTONIC, 0, &t, NULL);
	for (int i = 0; i < 3; i++)
		sched_yield();
	expect("sleep", "v_sleep", 1);
	expect("usleep", "v_sleep", 2);
	expect("nanosleep", "v_sleep", 2);
	expect("clock_nanosleep", "v_sleep", 1);
	expect("sched_yield", "v_sleep", 3);
}

/* ------------------------------------------------------------ files and sockets */

NOINLINE void v_file(void)
{
	char buf[64];
	int fd = open("/dev/null", O_WRONLY);
	PROG_CHECK(fd >= 0, "open /dev/null");
	for (int i = 0; i < 3; i++)
		PROG_CHECK(write(fd, "x", 1) == 1, "write");
	struct iovec v = { buf, 8 };
	memset(buf, 'y', sizeof(buf));
	PROG_CHECK(writev(fd, &v, 1) == 8, "writev");
	PROG_CHECK(pwrite(fd, buf, 4, 0) == 4, "pwrite");
	fsync(fd);       /* EINVAL on /dev/null: still a call */
	fdatasync(fd);
	close(fd);
	int z = openat(AT_FDCWD, "/dev/zero", O_RDONLY);
	PROG_CHECK(z >= 0, "openat /dev/zero");
	for (int i = 0; i < 2; i++)
		PROG_CHECK(read(z, buf, len64) == (ssize_t)sizeof(buf), "read");
	PROG_CHECK(pread(z, buf, len16, 0) == 16, "pread");
	PROG_CHECK(readv(z, &v, 1) == 8, "readv");
	int n = -1;
	ioctl(z, FIONREAD, &n);   /* ENOTTY on /dev/zero: still a call */
	close(z);
	expect("open", "v_file", 1);
	expect("write", "v_file", 3);
	expect("writev", "v_file", 1);
	expect("pwrite", "v_file", 1);
	expect("fsync", "v_file", 1);
	expect("fdatasync", "v_file", 1);
	expect("close", "v_file", 2);
	expect("openat", "v_file", 1);
	expect("read", "v_file", 2);
	expect("pread", "v_file", 1);
	expect("readv", "v_file", 1);
	expect("ioctl", "v_file", 1);
}

/* open's mode argument must reach the kernel untouched. */
NOINLINE void v_create(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/rtunsafe.created", scratch);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
	PROG_CHECK(fd >= 0, "open O_CREAT");
	struct stat st;
	PROG_CHECK(fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0640, "created file's mode");
	close(fd);
	unlink(path);
	errno = 12345;   /* errno passes through a successful wrapped call untouched */
	fd = openat(AT_FDCWD, "/dev/null", O_RDONLY);
	PROG_CHECK(fd >= 0 && errno == 12345, "errno kept by openat");
	errno = 0;
	PROG_CHECK(close(-1) == -1 && errno == EBADF, "errno set by close(-1)");
	close(fd);
	expect("open", "v_create", 1);
	expect("openat", "v_create", 1);
	expect("close", "v_create", 3);
}

NOINLINE void v_socket(void)
{
	int sv[2];
	char buf[16];
	PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	for (int i = 0; i < 2; i++)
		PROG_CHECK(send(sv[0], "ab", 2, 0) == 2, "send");
	PROG_CHECK(sendto(sv[0], "cd", 2, 0, NULL, 0) == 2, "sendto");
	struct iovec v = { (void *)"ef", 2 };
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	m.msg_iov = &v;
	m.msg_iovlen = 1;
	PROG_CHECK(sendmsg(sv[0], &m, 0) == 2, "sendmsg");
	for (int i = 0; i < 2; i++)
		PROG_CHECK(recv(sv[1], buf, len2, MSG_DONTWAIT) == 2, "recv");
	PROG_CHECK(recvfrom(sv[1], buf, len2, MSG_DONTWAIT, NULL, NULL) == 2, "recvfrom");
	struct iovec rv = { buf, 2 };
	m.msg_iov = &rv;
	PROG_CHECK(recvmsg(sv[1], &m, MSG_DONTWAIT) == 2, "recvmsg");
	struct sockaddr sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	connect(sv[0], &sa, sizeof(sa.sa_family));   /* EISCONN: still a call */
	socklen_t len = sizeof(sa);
	accept(sv[0], &sa, &len);                      /* EINVAL: still a call */
	close(sv[0]);
	close(sv[1]);
	expect("send", "v_socket", 2);
	expect("sendto", "v_socket", 1);
	expect("sendmsg", "v_socket", 1);
	expect("recv", "v_socket", 2);
	expect("recvfrom", "v_socket", 1);
	expect("recvmsg", "v_socket", 1);
	expect("connect", "v_socket", 1);
	expect("accept", "v_socket", 1);
	expect("close", "v_socket", 2);
}

/* ------------------------------------------------------------ stdio */

NOINLINE int say_v(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vprintf(fmt, ap);
	va_end(ap);
	return r;
}

NOINLINE void v_stdio(void)
{
	const char *where = inside ? "inside" : "outside";
	printf("printf %s: %d %5.2f %-6s| %lx %c %%\n", where, -42, 3.14159, "ab", 0xbeefUL, 'z');
	printf("%s %lld %Lg %zu\n", where, -1234567890123LL, (long double)2.5, (size_t)7);
	fprintf(stdout, "fprintf %s %08.3f\n", where, 1.0 / 3);
	say_v("vprintf %s %d %s\n", where, 7, "seven");
	puts("puts line");
	fputs("fputs line\n", stdout);
	putchar('!');
	putchar('\n');
	fwrite("fwrite line\n", 1, 12, stdout);
	fflush(stdout);
	FILE *f = fopen("/dev/zero", "r");
	PROG_CHECK(f != NULL, "fopen");
	char buf[32];
	PROG_CHECK(fread(buf, 1, len32, f) == sizeof(buf), "fread");
	PROG_CHECK(fgets(buf, (int)len32, f) != NULL, "fgets");
	fclose(f);
	expect("printf", "v_stdio", 2);
	expect("fprintf", "v_stdio", 1);
	expect("vprintf", "say_v", 1);
	expect("puts", "v_stdio", 1);
	expect("fputs", "v_stdio", 1);
	expect("putchar", "v_stdio", 2);
	expect("fwrite", "v_stdio", 1);
	expect("fflush", "v_stdio", 1);
	expect("fopen", "v_stdio", 1);
	expect("fread", "v_stdio", 1);
	expect("fgets", "v_stdio", 1);
	expect("fclose", "v_stdio", 1);
}

/* ------------------------------------------------------------ poll, mmap, threads, processes */

NOINLINE void v_poll(void)
{
	struct timespec zero = { 0, 0 };
	struct timeval tv = { 0, 0 };
	struct pollfd pfd[1];
	for (int i = 0; i < 2; i++)
		poll(pfd, nfds0, 0);
	ppoll(pfd, nfds0, &zero, NULL);
	select(0, NULL, NULL, NULL, &tv);
	pselect(0, NULL, NULL, NULL, &zero, NULL);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	PROG_CHECK(ep >= 0, "epoll_create1");
	struct epoll_event ev;
	epoll_wait(ep, &ev, 1, 0);
	epoll_pwait(ep, &ev, 1, 0, NULL);
	close(ep);
	expect("poll", "v_poll", 2);
	expect("ppoll", "v_poll", 1);
	expect("select", "v_poll", 1);
	expect("pselect", "v_poll", 1);
	expect("epoll_wait", "v_poll", 1);
	expect("epoll_pwait", "v_poll", 1);
	expect("close", "v_poll", 1);
}

NOINLINE void v_mmap(void)
{
	for (int i = 0; i < 2; i++) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		PROG_CHECK(p != MAP_FAILED, "mmap");
		if (i == 1) {
			p = mremap(p, 4096, 8192, MREMAP_MAYMOVE);
			PROG_CHECK(p != MAP_FAILED, "mremap");
			munmap(p, 8192);
		} else {
			munmap(p, 4096);
		}
	}
	expect("mmap", "v_mmap", 2);
	expect("mremap", "v_mmap", 1);
	expect("munmap", "v_mmap", 2);
}

static void *nothing(void *arg)
{
	return arg;
}

NOINLINE void v_thread(void)
{
	pthread_t t;
	PROG_CHECK(pthread_create(&t, NULL, nothing, NULL) == 0, "pthread_create");
	pthread_join(t, NULL);
	expect("pthread_create", "v_thread", 1);
	expect("pthread_join", "v_thread", 1);
}

NOINLINE void v_process(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	PROG_CHECK(p > 0, "fork");
	waitpid(p, NULL, 0);
	PROG_CHECK(system("exit 0") == 0, "system");
	FILE *f = popen("exit 0", "r");
	PROG_CHECK(f != NULL, "popen");
	pclose(f);
	expect("fork", "v_process", 1);
	expect("system", "v_process", 1);
	expect("popen", "v_process", 1);
}

NOINLINE void run_all(void)
{
	v_mutex();
	v_rwlock();
	v_spin_sem_barrier();
	v_cond();
	v_trylock();
	v_sleep();
	v_file();
	v_create();
	v_socket();
	v_stdio();
	v_poll();
	v_mmap();
	v_thread();
	v_process();
}

NOINLINE void outside_region(void)
{
	inside = 0;
	run_all();
}

NOINLINE void inside_region(void)
{
	inside = 1;
	AUDIOPROF_RT_ENTER("rtcheck");
	run_all();
	AUDIOPROF_RT_EXIT();
	inside = 0;
}

/* ------------------------------------------------------------ the other modes */

NOINLINE void w_sleep(void) { usleep(1); }
NOINLINE void w_lock(void) { pthread_mutex_lock(&mtx); pthread_mutex_unlock(&mtx); }
NOINLINE void w_write(void) { (void)!write(1, "w_write\n", 8); }
NOINLINE void w_try(void) { pthread_mutex_trylock(&mtx); pthread_mutex_unlock(&mtx); }

NOINLINE void a_sleep(void)
{
	usleep(1);
}

NOINLINE void t_sleep(void)
{
	for (int i = 0; i < 3; i++)
		usleep(1);
}

NOINLINE void t_alloc(void)
{
	for (int i = 0; i < 2; i++) {
		void *volatile p = malloc(100);
		free(p);
	}
}

static void *thread_main(void *arg)
{
	pthread_setname_np(pthread_self(), (const char *)arg);
	t_sleep();
	t_alloc();
	return NULL;
}

static void say_counts(struct audioprof_counts before)
{
	struct audioprof_counts now = audioprof_counts_now();
	char line[128];
	snprintf(line, sizeof(line), "counts rt_unsafe %llu allocs %llu\n",
		 (unsigned long long)(now.rt_unsafe - before.rt_unsafe),
		 (unsigned long long)(now.allocs - before.allocs));
	(void)!write(2, line, strlen(line));
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "all";
	if (argc > 2)
		scratch = argv[2];
	umask(022);
	char line[64];
	snprintf(line, sizeof(line), "pid %d\n", (int)getpid());
	(void)!write(2, line, strlen(line));
	pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
	pthread_barrier_init(&bar, NULL, 1);
	sem_init(&sem, 0, 0);
	sem_init(&go, 0, 0);

	if (strcmp(mode, "all") == 0) {
		pthread_t sig;
		PROG_CHECK(pthread_create(&sig, NULL, signaller, NULL) == 0, "signaller");
		outside_region();
		struct audioprof_counts before = audioprof_counts_now();
		inside_region();
		say_counts(before);
		(void)!write(2, expect_buf, expect_len);
		pthread_join(sig, NULL);
	} else if (strcmp(mode, "warn") == 0) {
		AUDIOPROF_RT_ENTER("warned");
		for (int i = 0; i < 3; i++) {   /* each site 3 times, reported once */
			w_sleep();
			w_lock();
			w_write();
			w_try();
		}
		AUDIOPROF_RT_EXIT();
		/* Outside the region: give the writer thread time to print (it looks every
		 * 100 ms in warn mode). */
		struct timespec t = { 0, 500000000 };
		nanosleep(&t, NULL);
		prog_say("warn done\n");
	} else if (strcmp(mode, "abort") == 0) {
		prog_say("before\n");
		AUDIOPROF_RT_ENTER("aborted");
		w_try();
		a_sleep();
		AUDIOPROF_RT_EXIT();
		prog_say("after\n");
	} else if (strcmp(mode, "thread") == 0) {
		pthread_t a, b;
		PROG_CHECK(pthread_create(&a, NULL, thread_main, (void *)"audio-rt") == 0, "thread a");
		PROG_CHECK(pthread_create(&b, NULL, thread_main, (void *)"worker") == 0, "thread b");
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		prog_say("threads done\n");
	} else {
		prog_fail(__FILE__, __LINE__, "unknown mode");
	}
	return 0;
}
