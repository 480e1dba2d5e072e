/* cpusig.c - a program with signal handling of its own, which the CPU sampler's signal
 * must leave unchanged: a SIGPROF handler driven by setitimer(ITIMER_PROF), a POSIX timer
 * of its own on SIGUSR1, a thread in sigwait for SIGUSR2, blocking reads from a pipe
 * fed by another thread, and a handler of its own for SIGRTMAX - 3 (the sampler's
 * signal) that it sends itself with sigqueue. The reads and the waits happen inside a
 * marked real-time region that also burns CPU, so the sampler's timer runs throughout.
 * Prints only what is the same in every run; exits 0 when everything behaved.
 *
 * `cpusig sleepy`: no handler of its own; inside the region, short CPU bursts between
 * very short nanosleep and ppoll calls (timer slack 1 ns), which the kernel never
 * restarts after a signal handler: prints how many returned EINTR (0 natively, and 0
 * under the profiler, whose CPU-time timer signal must never interrupt them). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "audioprof.h"

static volatile sig_atomic_t prof_ticks, usr1_ticks, rt_value;
static volatile uint64_t sink;
static int fds[2];

static void on_prof(int s) { (void)s; prof_ticks++; }
static void on_usr1(int s) { (void)s; usr1_ticks++; }
static void on_rt(int s, siginfo_t *si, void *u) { (void)s, (void)u; rt_value = si->si_value.sival_int; }

static void burn(int n)
{
	for (int i = 0; i < n; i++)
		sink = sink * 6364136223846793005u + 1;
}

static void *writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 40; i++) {
		struct timespec ts = { 0, 5000000 };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		char c = (char)('a' + i % 26);
		if (write(fds[1], &c, 1) != 1)
			return NULL;
	}
	return NULL;
}

static int waited;
static void *waiter(void *arg)
{
	sigset_t *set = arg;
	int sig;
	for (int i = 0; i < 3; i++)
		if (sigwait(set, &sig) == 0 && sig == SIGUSR2)
			waited++;
	return NULL;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int sleepy(void)
{
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	if (pipe(fds) != 0)
		return 2;
	struct pollfd pfd = { fds[0], POLLIN, 0 };
	long calls = 0, sleep_eintr = 0, poll_eintr = 0;
	uint64_t end = cpu_ns() + 1500000000u;
	while (cpu_ns() < end) {
		AUDIOPROF_RT_ENTER("cpusig");
		for (int i = 0; i < 20; i++) {
			burn(4000);
			struct timespec ts = { 0, 1 };
			if (nanosleep(&ts, NULL) != 0 && errno == EINTR)
				sleep_eintr++;
			ts.tv_nsec = 1000;
			if (ppoll(&pfd, 1, &ts, NULL) < 0 && errno == EINTR)
				poll_eintr++;
			calls += 2;
		}
		AUDIOPROF_RT_EXIT();
	}
	printf("sleepy: %s calls; nanosleep EINTR %ld, ppoll EINTR %ld\n",
	       calls > 10000 ? "over 10000" : "too few", sleep_eintr, poll_eintr);
	return calls > 10000 && sleep_eintr == 0 && poll_eintr == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "sleepy") == 0)
		return sleepy();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_prof;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGPROF, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGRTMAX - 3, &sa, NULL);
	struct sigaction back;
	sigaction(SIGRTMAX - 3, NULL, &back);
	printf("own handler for SIGRTMAX-3 reads back: %s\n",
	       (back.sa_flags & SA_SIGINFO) && back.sa_sigaction == on_rt ? "yes" : "no");

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_t w, t;
	pthread_create(&t, NULL, waiter, &set);

	struct itimerval it = { { 0, 2000 }, { 0, 2000 } };
	setitimer(ITIMER_PROF, &it, NULL);
	timer_t tid;
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	timer_create(CLOCK_MONOTONIC, &ev, &tid);
	struct itimerspec its = { { 0, 3000000 }, { 0, 3000000 } };
	timer_settime(tid, 0, &its, NULL);

	if (pipe(fds) != 0)
		return 2;
	pthread_create(&w, NULL, writer, NULL);
	int got = 0, eintr = 0;
	char line[41];
	for (int i = 0; i < 40; i++) {
		AUDIOPROF_RT_ENTER("cpusig");
		burn(2000000);
		char c;
		ssize_t r = read(fds[0], &c, 1);
		if (r == 1)
			line[got++] = c;
		else if (r < 0 && errno == EINTR)
			eintr++;
		AUDIOPROF_RT_EXIT();
		if (i % 13 == 0)
			kill(getpid(), SIGUSR2);
	}
	line[got] = 0;
	union sigval v = { .sival_int = 4242 };
	sigqueue(getpid(), SIGRTMAX - 3, v);
	pthread_join(w, NULL);
	pthread_join(t, NULL);
	it.it_value.tv_usec = it.it_interval.tv_usec = 0;
	setitimer(ITIMER_PROF, &it, NULL);
	timer_delete(tid);
	printf("read %d bytes: %s; EINTR %d\n", got, line, eintr);
	printf("sigwait got SIGUSR2 %d times\n", waited);
	printf("own SIGPROF handler ran: %s; own timer's SIGUSR1 handler ran: %s\n",
	       prof_ticks > 0 ? "yes" : "no", usr1_ticks > 0 ? "yes" : "no");
	printf("own SIGRTMAX-3 handler got: %d\n", (int)rt_value);
	return got == 40 && waited == 3 && rt_value == 4242 ? 0 : 1;
}
