/* sig.c - allocate, then meet a signal (t_signals.sh).
 *   sig_site: 3 x 123 kept -> tb 369 tbk 3 eb 369 ebk 3
 * Usage: sig MODE
 *   TERM | INT | HUP  raise() the signal, default action: the process dies of it
 *   handler           own SIGTERM handler (sigaction): prints "handled", exits 42
 *   signal_handler    the same with signal() instead of sigaction()
 *   ignore            SIGTERM set to SIG_IGN, raise() it, exit 7
 *   wait              print "ready", then sleep up to 30 s (killed from outside)
 *   segv              write through a null pointer (SIGSEGV)
 *   abort             abort() (SIGABRT) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "progs.h"

static void *volatile keep[3];
static volatile sig_atomic_t got;
static void *volatile null_ptr;

NOINLINE void *sig_site(void) { return malloc(123); }

static void on_term(int s)
{
	got = s;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "wait";
	int i;

	for (i = 0; i < 3; i++)
		keep[i] = sig_site();

	if (strcmp(mode, "TERM") == 0)
		raise(SIGTERM);
	else if (strcmp(mode, "INT") == 0)
		raise(SIGINT);
	else if (strcmp(mode, "HUP") == 0)
		raise(SIGHUP);
	else if (strcmp(mode, "handler") == 0 || strcmp(mode, "signal_handler") == 0) {
		if (mode[0] == 'h') {
			struct sigaction sa;
			memset(&sa, 0, sizeof sa);
			sa.sa_handler = on_term;
			sigemptyset(&sa.sa_mask);
			PROG_CHECK(sigaction(SIGTERM, &sa, NULL) == 0, "sigaction");
		} else {
			PROG_CHECK(signal(SIGTERM, on_term) != SIG_ERR, "signal");
		}
		raise(SIGTERM);
		PROG_CHECK(got == SIGTERM, "own handler did not run");
		prog_say("handled\n");
		exit(42);
	} else if (strcmp(mode, "ignore") == 0) {
		signal(SIGTERM, SIG_IGN);
		raise(SIGTERM);
		prog_say("ignored\n");
		exit(7);
	} else if (strcmp(mode, "segv") == 0) {
		*(volatile int *)null_ptr = 1;
	} else if (strcmp(mode, "abort") == 0) {
		abort();
	} else if (strcmp(mode, "wait") == 0) {
		prog_say("ready\n");
		for (i = 0; i < 300; i++) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		return 0;
	}
	prog_say("still alive\n");
	return 5;
}
