/* libforkhold.c - a module whose constructor holds the dynamic loader's lock (glibc runs
 * constructors inside dlopen with it held) until forkloop.c says it may return: while it
 * waits, any dlsym() in the process waits too (see forkloop.c). FORKHOLD_FDS="R W": the
 * constructor writes one byte to W when it starts, then reads one byte from R. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void hold(void)
{
	const char *fds = getenv("FORKHOLD_FDS");
	int r, w;
	char c = 'h';
	if (!fds || sscanf(fds, "%d %d", &r, &w) != 2)
		return;
	if (write(w, &c, 1) != 1)
		_exit(3);
	while (read(r, &c, 1) != 1)
		;
}
