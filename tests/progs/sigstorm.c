/* sigstorm.c - allocations in signal handlers that land anywhere, the profiler's own code
 * included (t_sigstorm.sh). Two timers fire SIGALRM and SIGUSR1 every 50 us at the main
 * thread while it allocates in a loop; the handlers (which may nest) allocate and free
 * blocks of known sizes and count their runs in sig_atomic_t counters:
 *   main loop: main_site 1500 bytes, freed at once, until both handlers ran CALLS times
 *   SIGALRM:  alrm_a 40, alrm_b 72, alrm_c 136 (all freed before it returns)
 *   SIGUSR1:  usr_a 200, usr_b 264, usr_c 328
 *   before the storm: warm_site, 2 blocks of each handler size, freed
 * Prints "main M alrm A usr U blocks B bytes Y" (B, Y: every block the program
 * allocated, by its own count) without stdio. Usage: sigstorm CALLS
 * Safe with glibc's malloc: a handler's sizes are in tcache bins nobody else uses, so
 * its malloc and free never take the arena lock the loop's 1500-byte blocks take. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "progs.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static volatile sig_atomic_t alrm_calls, usr_calls;
static void *volatile sink;

NOINLINE void *main_site(size_t n) { return malloc(n); }
NOINLINE void *warm_site(size_t n) { return malloc(n); }
NOINLINE void *alrm_a(void) { return malloc(40); }
NOINLINE void *alrm_b(void) { return malloc(72); }
NOINLINE void *alrm_c(void) { return malloc(136); }
NOINLINE void *usr_a(void) { return malloc(200); }
NOINLINE void *usr_b(void) { return malloc(264); }
NOINLINE void *usr_c(void) { return malloc(328); }

static void on_alrm(int s)
{
	(void)s;
	void *a = alrm_a(), *b = alrm_b(), *c = alrm_c();
	if (!a || !b || !c)
		_exit(3);
	free(c);
	free(b);
	free(a);
	alrm_calls++;
}

static void on_usr(int s, siginfo_t *si, void *uc)
{
	(void)s, (void)si, (void)uc;
	void *a = usr_a(), *b = usr_b(), *c = usr_c();
	if (!a || !b || !c)
		_exit(3);
	free(a);
	free(b);
	free(c);
	usr_calls++;
}

static timer_t start_timer(int sig)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = sig;
	sev.sigev_notify_thread_id = gettid();
	timer_t t;
	PROG_CHECK(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0, "timer_create");
	struct itimerspec its = { { 0, 50000 }, { 0, 50000 } };
	PROG_CHECK(timer_settime(t, 0, &its, NULL) == 0, "timer_settime");
	return t;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 20000;
	unsigned long blocks = 0, bytes = 0, main_n = 0;
	static const size_t hs[] = { 40, 72, 136, 200, 264, 328 };
	PROG_CHECK(calls > 0, "usage: sigstorm CALLS");

	/* Each handler size's tcache bin gets chunks before the storm. */
	void *w[12];
	for (int i = 0; i < 12; i++) {
		w[i] = warm_site(hs[i % 6]);
		blocks++, bytes += hs[i % 6];
	}
	for (int i = 0; i < 12; i++)
		free(w[i]);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_alrm;
	PROG_CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction SIGALRM");
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	sa.sa_sigaction = on_usr;
	PROG_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction SIGUSR1");
	/* The handler the program installed is what it reads back. */
	struct sigaction back;
	PROG_CHECK(sigaction(SIGUSR1, NULL, &back) == 0 && back.sa_sigaction == on_usr &&
		   (back.sa_flags & SA_SIGINFO), "sigaction reads back another handler");
	PROG_CHECK(signal(SIGALRM, on_alrm) == on_alrm, "signal reads back another handler");

	timer_t ta = start_timer(SIGALRM), tu = start_timer(SIGUSR1);
	while (alrm_calls < calls || usr_calls < calls) {
		sink = main_site(1500);
		free(sink);
		main_n++;
	}
	timer_delete(ta);
	timer_delete(tu);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);   /* a signal still pending stays so */

	blocks += main_n + 3 * (unsigned long)alrm_calls + 3 * (unsigned long)usr_calls;
	bytes += main_n * 1500 + (40 + 72 + 136) * (unsigned long)alrm_calls +
		 (200 + 264 + 328) * (unsigned long)usr_calls;
	char buf[160];
	snprintf(buf, sizeof buf, "main %lu alrm %ld usr %ld blocks %lu bytes %lu\n", main_n,
		 (long)alrm_calls, (long)usr_calls, blocks, bytes);
	prog_say(buf);
	return 0;
}
