/* forkwipe.c - fork children that keep running and allocating, and one that execs,
 * while the parent keeps a second allocating thread (checked by t_fork_wipe.sh). The
 * profiler's per-thread sums, CPU samples and violation tables are not copied into a
 * child (it starts them afresh); this shows that every number stays exact on both sides.
 *   parent, main thread: site_a 10 x 100 before the forks (from a_before), 5 x 100
 *                        after (a_after): all kept; parent_spin: CPU time before the forks
 *   parent, helper:      site_b 7 x 50 before the forks (b_before), frees 2; 3 x 50
 *                        after (b_after), kept
 *   child 1 (runs on):   site_a 4 x 100 (child_runs_on), frees 2 of them; frees 1
 *                        inherited site_b block;
 *                        a new thread: site_d 6 x 64, frees 3; child_spin: CPU time;
 *                        exit(0)
 *   child 2:             execs this program with "exec": site_e 3 x 32 kept, exit(0)
 * Prints "parent PID child PID exec PID" on stdout, after both children have exited. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "progs.h"

static void *volatile a_blk[19], *volatile b_blk[10], *volatile d_blk[6], *volatile e_blk[3];
static volatile unsigned long spin_sink;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stage;   /* 1: helper's first part done; 2: forks done, go on; 3: helper done */

NOINLINE void *site_a(void) { return malloc(100); }
NOINLINE void *site_b(void) { return malloc(50); }
NOINLINE void *site_d(void) { return malloc(64); }
NOINLINE void *site_e(void) { return malloc(32); }
NOINLINE void release(void *p) { free(p); }

/* Each loop in a function of its own: one stack (one site) per loop. */
NOINLINE void a_before(void)
{
	for (int i = 0; i < 10; i++)
		a_blk[i] = site_a();
}

NOINLINE void a_after(void)
{
	for (int i = 14; i < 19; i++)
		a_blk[i] = site_a();
}

NOINLINE void b_before(void)
{
	for (int i = 0; i < 7; i++)
		b_blk[i] = site_b();
}

NOINLINE void b_after(void)
{
	for (int i = 7; i < 10; i++)
		b_blk[i] = site_b();
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread, about `s` seconds of it. */
NOINLINE void parent_spin(double s)
{
	double end = now_s() + s;
	while (now_s() < end)
		for (int i = 0; i < 10000; i++)
			spin_sink += (unsigned long)i * 7;
}

NOINLINE void child_spin(double s)
{
	double end = now_s() + s;
	while (now_s() < end)
		for (int i = 0; i < 10000; i++)
			spin_sink += (unsigned long)i * 13;
}

static void set_stage(int s)
{
	pthread_mutex_lock(&mu);
	stage = s;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void wait_stage(int s)
{
	pthread_mutex_lock(&mu);
	while (stage < s)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static void *helper(void *arg)
{
	b_before();
	release(b_blk[0]);
	release(b_blk[1]);
	set_stage(1);
	wait_stage(2);
	b_after();
	return arg;
}

static void *child_thread(void *arg)
{
	for (int i = 0; i < 6; i++)
		d_blk[i] = site_d();
	for (int i = 0; i < 3; i++)
		release(d_blk[i]);
	return arg;
}

static void child_runs_on(void)
{
	for (int i = 10; i < 14; i++)
		a_blk[i] = site_a();
	release(a_blk[10]);
	release(a_blk[11]);
	release(b_blk[2]);   /* the parent helper's, inherited */
	pthread_t t;
	PROG_CHECK(pthread_create(&t, NULL, child_thread, NULL) == 0, "pthread_create (child)");
	PROG_CHECK(pthread_join(t, NULL) == 0, "pthread_join (child)");
	child_spin(0.15);
	exit(0);
}

static int exec_target(void)
{
	for (int i = 0; i < 3; i++)
		e_blk[i] = site_e();
	return 0;
}

static void reap(pid_t pid)
{
	int st;
	PROG_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	PROG_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a child failed");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "exec") == 0)
		return exec_target();
	pthread_t h;
	PROG_CHECK(pthread_create(&h, NULL, helper, NULL) == 0, "pthread_create");
	a_before();
	parent_spin(0.15);
	wait_stage(1);   /* the helper's sums are in its area when the children fork */
	pid_t c1 = fork();
	PROG_CHECK(c1 >= 0, "fork");
	if (c1 == 0)
		child_runs_on();
	pid_t c2 = fork();
	PROG_CHECK(c2 >= 0, "fork");
	if (c2 == 0) {
		execl("/proc/self/exe", argv[0], "exec", (char *)NULL);
		_exit(127);
	}
	reap(c1);
	reap(c2);
	set_stage(2);
	a_after();
	PROG_CHECK(pthread_join(h, NULL) == 0, "pthread_join");
	printf("parent %d child %d exec %d\n", (int)getpid(), (int)c1, (int)c2);
	return 0;
}
