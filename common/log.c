/* log.c - the profiler's only way to speak: "audioprof: ..." on fd 2 with write(2).
 * Rate-limited to LOG_LIMIT lines per process; never allocates, never touches stdio.
 * Shared by the preload and the analyzer (the options parsers warn through it). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int log_count;   /* messages written so far (atomic increments) */

/* Where fd 2 is, for a thread with an fd table of its own (log_set_stderr_hooks). */
static int (*stderr_get)(void);
static void (*stderr_done)(int fd);

void log_set_stderr_hooks(int (*get)(void), void (*done)(int fd))
{
	__atomic_store_n(&stderr_done, done, __ATOMIC_RELAXED);
	__atomic_store_n(&stderr_get, get, __ATOMIC_RELEASE);
}

void log_msg(const char *fmt, ...)
{
	int n = __atomic_add_fetch(&log_count, 1, __ATOMIC_RELAXED);
	if (n > LOG_LIMIT + 1)
		return;
	char buf[1024];
	size_t len;
	if (n == LOG_LIMIT + 1) {
		static const char msg[] = "audioprof: further messages suppressed\n";
		len = sizeof(msg) - 1;
		memcpy(buf, msg, len);
	} else {
		static const char prefix[] = "audioprof: ";
		len = sizeof(prefix) - 1;
		memcpy(buf, prefix, len);
		va_list ap;
		va_start(ap, fmt);
		int w = vsnprintf(buf + len, sizeof(buf) - len - 1, fmt, ap);
		va_end(ap);
		if (w < 0)
			w = 0;
		len += (size_t)w < sizeof(buf) - len - 1 ? (size_t)w : sizeof(buf) - len - 2;
		buf[len++] = '\n';
	}
	int (*get)(void) = __atomic_load_n(&stderr_get, __ATOMIC_ACQUIRE);
	void (*done)(int) = __atomic_load_n(&stderr_done, __ATOMIC_RELAXED);
	int fd = get ? get() : 2;
	const char *p = buf;
	while (fd >= 0 && len > 0) {
		ssize_t w = write(fd, p, len);
		if (w <= 0)
			break;
		p += w;
		len -= (size_t)w;
	}
	if (done)
		done(fd);
}
