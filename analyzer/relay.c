/* relay.c - the signals of `audioprof run` while the program runs: the program sees
 * exactly the signals it would see without the wrapper, whoever sent them, and a shell's
 * job control sees the job stop and go on as the program does.
 *
 * One process group. The program stays in the wrapper's process group (the group the
 * shell, the service manager or the CI runner made), so whatever is addressed to the
 * group reaches the program directly, once, exactly as without the wrapper: Ctrl-C,
 * Ctrl-\, Ctrl-Z and window-size changes from the terminal, `kill -TERM -PGID`,
 * `kill %1`, kill(0, ...) and kill(-1, ...). The wrapper forwards only what was
 * addressed to it alone (`kill PID` with the pid its caller knows).
 *
 * Telling the two apart. siginfo does not: a pid kill and a group kill are both SI_USER
 * with the sender's pid. So the wrapper forks a sentinel into the same group before the
 * program. The sentinel blocks every signal and, when asked, reports (signal, sender)
 * for each it received. A signal the sentinel received too, from the same sender, was
 * addressed to the group (or to everyone): the program has it already, and it is not
 * forwarded. Ordering: kill(-pgid) queues the signal on every member of the group under
 * one read lock of the kernel's tasklist_lock; before asking, the wrapper calls setpgid()
 * on the sentinel (a no-op that takes that lock for writing), which returns only after
 * a group kill in progress has reached every member. Signals the terminal sends
 * (SI_KERNEL) always go to a whole group and are never forwarded.
 *
 * Why not a group of the program's own, as a shell does for a job (and sudo with a pty):
 * the terminal must then be handed to that group, which takes it from the other
 * processes of a pipeline (`audioprof run prog | less`: less stops on SIGTTIN and Ctrl-C
 * no longer reaches it), and a kill of the job's group would reach the program but not
 * its children, or a forwarded kill would reach them too when it should not. Keeping
 * the one group is exact in both cases.
 *
 * Job control. When the program stops (Ctrl-Z, SIGTTIN, SIGSTOP, a forwarded SIGTSTP),
 * the wrapper stops itself with the same signal, so that the shell that waits for it sees
 * the job stop; `fg` and `bg` send SIGCONT to the group, which continues both (and the
 * wrapper does not forward that SIGCONT: the program had it).
 *
 * Forwarded: what a process sent to the wrapper alone: SI_USER with kill(), SI_QUEUE
 * with sigqueue() and its value, SI_TKILL; not what the program or the wrapper sent, nor
 * what the kernel generates (the terminal's signals, SIGCHLD, ...).
 *
 * Limits (documented in audioprof(1)): a forwarded signal comes from the wrapper's pid;
 * SIGKILL and SIGSTOP sent to the wrapper alone cannot be caught and so are not
 * forwarded; a sender that signals every process one by one (systemd's default
 * KillMode=control-group, `pkill` matching both) reaches the program twice, once
 * directly and once forwarded (use KillMode=mixed); two signals of one kind sent within
 * microseconds may merge differently than they would natively; if the program is
 * continued by a SIGCONT sent to it alone while the wrapper is stopped, the wrapper stays
 * stopped until it is continued too.
 *
 * No signal handler runs in the wrapper: everything is taken with sigwaitinfo(). */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* One report of the sentinel: a signal, how and who sent it; sig 0 ends an answer. */
struct rec {
	int sig;
	int code;   /* si_code: only SI_USER ones can match (a terminal's pid is 0, too) */
	pid_t pid;
};

/* How long the wrapper waits for the sentinel's answer before forwarding anyway (the
 * sentinel answers in microseconds; it is late only if someone stopped it alone). */
#define SENTINEL_TIMEOUT_MS 2000

/* ------------------------------------------------------------------ the sentinel */

/* The sentinel's life: all signals blocked (inherited), dies with the wrapper. For each
 * byte on fd 0, takes every pending signal and writes one record per signal to fd 1,
 * then a record with sig 0. Holds no other fd (not the terminal, not a pipe end the
 * program's readers wait on). */
static void __attribute__((noreturn)) sentinel_main(pid_t parent, int cmd, int rep)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	if (dup2(cmd, 0) < 0 || dup2(rep, 1) < 0)
		_exit(0);
	if (close_range(2, ~0U, 0) != 0)
		for (int fd = 2; fd < 1024; fd++)
			close(fd);
	sigset_t all;
	sigfillset(&all);
	const struct timespec zero = { 0, 0 };
	char c;
	for (;;) {
		ssize_t n = read(0, &c, 1);
		if (n == 0)
			_exit(0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(0);
		}
		siginfo_t si;
		int sig;
		while ((sig = sigtimedwait(&all, &si, &zero)) > 0) {
			struct rec r = { sig, si.si_code, si.si_code == SI_USER ? si.si_pid : 0 };
			if (write(1, &r, sizeof(r)) != sizeof(r))
				_exit(0);
		}
		struct rec end = { 0, 0, 0 };
		if (write(1, &end, sizeof(end)) != sizeof(end))
			_exit(0);
	}
}

void relay_start(struct relay *r)
{
	memset(r, 0, sizeof(*r));
	r->cmd_fd = r->rep_fd = -1;
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &r->old_mask);
	/* Inherited SIGCHLD = SIG_IGN would reap the program before we can wait for it. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &r->old_chld);

	int cmd[2], rep[2];
	if (pipe2(cmd, O_CLOEXEC) != 0)
		return;
	if (pipe2(rep, O_CLOEXEC) != 0) {
		close(cmd[0]);
		close(cmd[1]);
		return;
	}
	pid_t parent = getpid();
	pid_t s = fork();
	if (s == 0)
		sentinel_main(parent, cmd[0], rep[1]);
	close(cmd[0]);
	close(rep[1]);
	if (s < 0) {
		close(cmd[1]);
		close(rep[0]);
		return;
	}
	r->sentinel = s;
	r->cmd_fd = cmd[1];
	r->rep_fd = rep[0];
}

void relay_child(const struct relay *r)
{
	sigaction(SIGCHLD, &r->old_chld, NULL);
	sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
}

/* Back to the caller's SIGCHLD action and mask, dropping what is pending. */
static void restore(struct relay *r)
{
	sigset_t all;
	sigfillset(&all);
	const struct timespec zero = { 0, 0 };
	while (sigtimedwait(&all, NULL, &zero) > 0)
		;
	sigaction(SIGCHLD, &r->old_chld, NULL);
	sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
}

static void sentinel_end(struct relay *r)
{
	if (r->sentinel > 0) {
		kill(r->sentinel, SIGKILL);
		while (waitpid(r->sentinel, NULL, 0) < 0 && errno == EINTR)
			;
	}
	r->sentinel = 0;
	if (r->cmd_fd >= 0)
		close(r->cmd_fd);
	if (r->rep_fd >= 0)
		close(r->rep_fd);
	r->cmd_fd = r->rep_fd = -1;
}

void relay_abort(struct relay *r)
{
	sentinel_end(r);
	restore(r);
}

/* Reads exactly `len` bytes from the sentinel; -1 when it is gone or late. */
static int read_answer(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int n = poll(&pfd, 1, SENTINEL_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		ssize_t got = read(fd, p, len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		p += got;
		len -= (size_t)got;
	}
	return 0;
}

/* Asks the sentinel for the signals it received since the last question and adds them
 * to r->rec. Returns -1 (and forgets the sentinel) if it does not answer. */
static int sentinel_ask(struct relay *r)
{
	/* Waits for a group kill in progress to finish (see the top of the file). */
	setpgid(r->sentinel, getpgrp());
	char c = 'q';
	if (write(r->cmd_fd, &c, 1) != 1)
		goto gone;
	for (;;) {
		struct rec x;
		if (read_answer(r->rep_fd, &x, sizeof(x)) != 0)
			goto gone;
		if (x.sig == 0)
			return 0;
		if (r->nrec == (int)(sizeof(r->rec) / sizeof(r->rec[0]))) {
			memmove(&r->rec[0], &r->rec[1], (size_t)(r->nrec - 1) * sizeof(r->rec[0]));
			r->nrec--;
		}
		r->rec[r->nrec].sig = x.sig;
		r->rec[r->nrec].code = x.code;
		r->rec[r->nrec].pid = x.pid;
		r->nrec++;
	}
gone:
	sentinel_end(r);
	return -1;
}

/* Was `sig` from `pid`, just taken by the wrapper, addressed to the whole group? */
static int sent_to_group(struct relay *r, int sig, pid_t pid)
{
	if (r->sentinel <= 0 || sentinel_ask(r) != 0)
		return 0;
	int found = 0;
	for (int i = 0; i < r->nrec; i++)
		if (r->rec[i].sig == sig && r->rec[i].code == SI_USER && r->rec[i].pid == pid) {
			memmove(&r->rec[i], &r->rec[i + 1], (size_t)(r->nrec - i - 1) * sizeof(r->rec[0]));
			r->nrec--;
			found = 1;
			break;
		}
	/* What the sentinel received and the wrapper has no longer pending will never be
	 * matched (the wrapper merged it with an earlier one): forget it. */
	sigset_t pend;
	sigpending(&pend);
	int k = 0;
	for (int i = 0; i < r->nrec; i++)
		if (sigismember(&pend, r->rec[i].sig) == 1)
			r->rec[k++] = r->rec[i];
	r->nrec = k;
	return found;
}

/* ------------------------------------------------------------------ the wrapper */

/* A signal the wrapper took: forward it to the program if it was meant for it alone. */
static void relay_one(struct relay *r, pid_t prog, const siginfo_t *si)
{
	int sig = si->si_signo;
	if (sig == SIGKILL || sig == SIGSTOP)
		return;
	switch (si->si_code) {
	case SI_USER:
	case SI_QUEUE:
	case SI_TKILL:
		break;
	default:
		return;                /* from the kernel: the terminal, SIGCHLD, ... */
	}
	if (si->si_pid == getpid() || si->si_pid == prog)
		return;                /* our own, or the program's to its parent */
	if (si->si_code == SI_USER && sent_to_group(r, sig, si->si_pid))
		return;
	if (si->si_code == SI_QUEUE)
		sigqueue(prog, sig, si->si_value);
	else
		kill(prog, sig);
}

/* Is `pid` stopped now? (Its stop may have been reported after a SIGCONT to the whole
 * group continued it again.) When /proc cannot say, yes. */
static int still_stopped(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');  /* "pid (comm) S ...": comm may hold anything */
	return !p || p[1] != ' ' || p[2] == 'T' || p[2] == 't';
}

/* The program stopped with `sig`: stop the wrapper the same way, so that whoever waits
 * for it (a shell with job control) sees the job stop. Returns when continued. */
static void stop_like(pid_t pid, int sig)
{
	if (!still_stopped(pid))
		return;
	if (sig == SIGSTOP) {
		kill(getpid(), SIGSTOP);
		return;
	}
	struct sigaction dfl, old;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, &old);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	kill(getpid(), sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);  /* stops here (unless the group is orphaned) */
	sigprocmask(SIG_BLOCK, &one, NULL);
	sigaction(sig, &old, NULL);
}

int relay_wait(struct relay *r, pid_t pid, int *status)
{
	sigset_t all;
	sigfillset(&all);
	int err = 0;
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG | WUNTRACED);
		if (w == pid) {
			if (!WIFSTOPPED(*status))
				break;
			stop_like(pid, WSTOPSIG(*status));
			continue;
		}
		if (w < 0 && errno != EINTR) {
			err = errno;
			break;
		}
		if (r->sentinel > 0 && waitpid(r->sentinel, NULL, WNOHANG) == r->sentinel) {
			r->sentinel = 0;       /* killed alone: forward everything from now on */
			sentinel_end(r);
		}
		/* A SIGCHLD that came before the waitpid() above is still pending: no race. */
		siginfo_t si;
		if (sigwaitinfo(&all, &si) > 0) {
			int s = si.si_signo;
			if (!r->stop_sig && (s == SIGINT || s == SIGTERM || s == SIGHUP ||
					     s == SIGQUIT) && si.si_pid != pid)
				r->stop_sig = s;
			relay_one(r, pid, &si);
		}
	}
	sentinel_end(r);
	restore(r);
	return err;
}
