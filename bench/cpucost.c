/* cpucost.c - what CPU sampling would cost if the sampler armed and disarmed its timer
 * around every callback (cpubench.sh prints it beside the measured cost of the timer
 * that keeps running): the mean time of one timer_settime arm + disarm pair on a
 * thread-CPU-clock timer, and of one signal delivered to and handled by the thread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile int hits;
static void on_sig(int s, siginfo_t *i, void *u) { (void)s, (void)i, (void)u; hits++; }

int main(void)
{
	clockid_t clk;
	pthread_getcpuclockid(pthread_self(), &clk);
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = SIGRTMAX - 3;
	ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	timer_t t;
	if (timer_create(clk, &ev, &t) != 0)
		return 1;
	struct itimerspec on = { { 0, 1000000 }, { 0, 1000000 } }, off;
	memset(&off, 0, sizeof(off));
	enum { N = 200000 };
	uint64_t t0 = now();
	for (int i = 0; i < N; i++) {
		timer_settime(t, 0, &on, NULL);
		timer_settime(t, 0, &off, NULL);
	}
	double pair = (double)(now() - t0) / N;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGRTMAX - 3, &sa, NULL);
	t0 = now();
	for (int i = 0; i < N; i++)
		pthread_kill(pthread_self(), SIGRTMAX - 3);
	double sig = (double)(now() - t0) / N;
	printf("arm+disarm pair: %.0f ns; one signal sent and handled: %.0f ns\n", pair, sig);
	return hits == N ? 0 : 2;
}
