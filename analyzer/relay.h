/* relay.h - the signals of `audioprof run`: the program sees exactly the signals it
 * would see without the wrapper. See relay.c for the design and its limits. */
#ifndef AUDIOPROF_RELAY_H
#define AUDIOPROF_RELAY_H

#include <signal.h>
#include <sys/types.h>

struct relay {
	sigset_t old_mask;   /* the caller's mask, restored in the program before exec */
	struct sigaction old_chld;  /* the caller's SIGCHLD action (SIG_IGN would reap) */
	pid_t sentinel;      /* the sentinel process, 0 when there is none (or it died) */
	int cmd_fd;          /* write end: asks the sentinel what it received */
	int rep_fd;          /* read end: its answer */
	int nrec;            /* signals the sentinel received not yet matched */
	int stop_sig;        /* the first SIGINT, SIGTERM, SIGHUP or SIGQUIT that reached the
			      * wrapper while the program ran (forwarded or not), else 0 */
	struct { int sig, code; pid_t pid; } rec[64];
};

/* Before forking the program: blocks every signal (none is lost or acted on until
 * relay_wait() takes it) and starts the sentinel. Never fails: without a sentinel,
 * every signal sent to the wrapper by a process is forwarded. */
void relay_start(struct relay *r);

/* In the forked program, before exec: the caller's signal mask and SIGCHLD action. */
void relay_child(const struct relay *r);

/* Waits for the program `pid` to end, relaying signals meanwhile, and stops when its
 * process is still stopped. Stores its wait status; 0, or an errno from waitpid().
 * Ends the sentinel, drops the signals still pending (they were meant for the program,
 * which is gone) and restores the caller's mask and SIGCHLD action. */
int relay_wait(struct relay *r, pid_t pid, int *status);

/* When starting the program failed: ends the sentinel, restores mask and SIGCHLD. */
void relay_abort(struct relay *r);

#endif
