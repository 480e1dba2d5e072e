/* sigcount.c - counts every signal it receives, and quits on SIGTERM like mpv
 * (t_run_signals.sh): the same counts, output and exit status must come out natively
 * and under `audioprof run`, whoever sends the signals and however.
 *   sigcount_site: 2 x 200 kept -> tb 400 tbk 2 eb 400 ebk 2
 * Usage: sigcount [QUIT_STATUS [term-quits]]   (QUIT_STATUS default 4)
 *   Prints "ready" once its handlers are in place, then waits.
 *   HUP INT QUIT USR1 USR2 ALRM TERM CONT WINCH RTMIN+1: counted (RTMIN+1 also sums the
 *   sigqueue() values); SIGTSTP keeps its default action (stops).
 *   The first SIGTERM asks for a clean quit, a second one kills: the handler puts
 *   SIGTERM back to its default action and raises it (mpv does this).
 *   SIGRTMAX, the fence (send it last): prints the counts and quits, with QUIT_STATUS
 *   when a SIGTERM came (clean quit after SIGTERM), else 0.
 *   term-quits: a SIGTERM is the fence too, as in mpv: the program takes 300 ms to
 *   quit cleanly (a second SIGTERM in that time kills it), then prints the counts. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <unistd.h>
#include "progs.h"

static void *volatile keep[2];
static volatile sig_atomic_t count[NSIG];
static volatile sig_atomic_t rt_sum;
static volatile sig_atomic_t fence;

NOINLINE void *sigcount_site(void) { return malloc(200); }

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	count[sig]++;
	if (sig == SIGRTMIN + 1 && si->si_code == SI_QUEUE)
		rt_sum += si->si_value.sival_int;
	if (sig == SIGTERM && count[SIGTERM] == 2) {
		signal(SIGTERM, SIG_DFL);  /* "die now" */
		raise(SIGTERM);
	}
	if (sig == SIGRTMAX)
		fence = 1;
}

int main(int argc, char **argv)
{
	int quit_status = argc > 1 ? atoi(argv[1]) : 4;
	int term_quits = argc > 2 && strcmp(argv[2], "term-quits") == 0;
	const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM,
			     SIGCONT, SIGWINCH, SIGRTMIN + 1, SIGRTMAX };
	const char *const names[] = { "HUP", "INT", "QUIT", "USR1", "USR2", "ALRM", "TERM",
				      "CONT", "WINCH", "RTMIN+1" };
	sigset_t block, old;
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_signal;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		PROG_CHECK(sigaction(sigs[i], &sa, NULL) == 0, "sigaction");
		sigaddset(&block, sigs[i]);
	}
	for (int i = 0; i < 2; i++)
		keep[i] = sigcount_site();

	/* Wait for the fence with the signals blocked between checks: none is missed. */
	sigprocmask(SIG_BLOCK, &block, &old);
	prog_say("ready\n");
	while (!fence) {
		if (term_quits && count[SIGTERM]) {
			/* The clean quit: 300 ms with the signals unblocked. */
			struct timespec now, end;
			clock_gettime(CLOCK_MONOTONIC, &end);
			end.tv_nsec += 300 * 1000 * 1000;
			if (end.tv_nsec >= 1000000000L) {
				end.tv_sec++;
				end.tv_nsec -= 1000000000L;
			}
			for (;;) {
				clock_gettime(CLOCK_MONOTONIC, &now);
				struct timespec left = { end.tv_sec - now.tv_sec, end.tv_nsec - now.tv_nsec };
				if (left.tv_nsec < 0) {
					left.tv_sec--;
					left.tv_nsec += 1000000000L;
				}
				if (left.tv_sec < 0)
					break;
				ppoll(NULL, 0, &left, &old);
			}
			break;
		}
		sigsuspend(&old);
	}
	/* The fence's handler may have run before that of a signal queued earlier with the
	 * same number as one being handled (real-time signals queue): take those now. */
	sigprocmask(SIG_SETMASK, &old, NULL);

	char line[256];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s=%d ", names[i],
				      (int)count[sigs[i]]);
	snprintf(line + n, sizeof(line) - n, "sum=%d\n", (int)rt_sum);
	prog_say(line);
	return count[SIGTERM] ? quit_status : 0;
}
