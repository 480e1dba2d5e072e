/* sigread.c - installs signal handlers every way and prints what sigaction() reads back
 * after each step (t_sigstorm.sh compares the output under the preload with native):
 * the profiler runs the program's handlers through its own trampoline and stands in for
 * SIG_DFL on SIGTERM, neither of which the program may see. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void h1(int s) { (void)s; }
static void h2(int s, siginfo_t *i, void *u) { (void)s, (void)i, (void)u; }

static const char *name(const struct sigaction *o)
{
	if (o->sa_handler == SIG_DFL)
		return "SIG_DFL";
	if (o->sa_handler == SIG_IGN)
		return "SIG_IGN";
	if (o->sa_handler == h1)
		return "h1";
	if (o->sa_sigaction == h2)
		return "h2";
	return "another handler";
}

static void show(const char *what, int sig)
{
	struct sigaction o;
	sigaction(sig, NULL, &o);
	printf("%s: %s flags=%#x mask has SIGUSR2: %d\n", what, name(&o), (unsigned)o.sa_flags,
	       sigismember(&o.sa_mask, SIGUSR2));
}

int main(void)
{
	struct sigaction a, old;
	memset(&a, 0, sizeof a);
	sigemptyset(&a.sa_mask);
	sigaddset(&a.sa_mask, SIGUSR2);
	show("SIGTERM at start", SIGTERM);
	a.sa_handler = h1;
	a.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigaction(SIGUSR1, &a, NULL);
	show("SIGUSR1 h1, SA_RESETHAND", SIGUSR1);
	raise(SIGUSR1);
	show("SIGUSR1 after delivery", SIGUSR1);
	a.sa_sigaction = h2;
	a.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGUSR1, &a, &old);
	printf("old: %s\n", name(&old));
	show("SIGUSR1 h2, SA_SIGINFO", SIGUSR1);
	signal(SIGUSR1, SIG_IGN);
	show("SIGUSR1 SIG_IGN", SIGUSR1);
	printf("signal() returned %s\n", signal(SIGUSR1, h1) == SIG_IGN ? "SIG_IGN" : "another");
	show("SIGUSR1 signal(h1)", SIGUSR1);
	printf("signal() returned %s\n", signal(SIGTERM, h1) == SIG_DFL ? "SIG_DFL" : "another");
	show("SIGTERM signal(h1)", SIGTERM);
	a.sa_handler = SIG_DFL;
	a.sa_flags = 0;
	sigaction(SIGTERM, &a, &old);
	printf("old: %s\n", name(&old));
	show("SIGTERM SIG_DFL with a mask", SIGTERM);
	return 0;
}
