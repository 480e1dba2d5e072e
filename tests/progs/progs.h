/* progs.h - shared by the purpose-built test programs in tests/progs/.
 * Every allocation site lives in its own named, non-inlined function so the profile's
 * frames identify it; pointers pass through volatile storage so nothing is folded. */
#ifndef AUDIOPROF_TEST_PROGS_H
#define AUDIOPROF_TEST_PROGS_H

#define NOINLINE __attribute__((noinline, noclone, used))

/* Report a failed in-program check on stderr (write(2): no stdio allocation) and exit 1. */
#define PROG_CHECK(cond, msg) do { \
	if (!(cond)) { prog_fail(__FILE__, __LINE__, (msg)); } \
} while (0)

#include <string.h>
#include <stdlib.h>
#include <unistd.h>

static inline void prog_fail(const char *file, int line, const char *msg)
{
	char num[16];
	int n = 0, l = line;
	char tmp[16];
	do { tmp[n++] = (char)('0' + l % 10); l /= 10; } while (l && n < 15);
	for (int i = 0; i < n; i++)
		num[i] = tmp[n - 1 - i];
	(void)!write(2, "CHECK FAILED ", 13);
	(void)!write(2, file, strlen(file));
	(void)!write(2, ":", 1);
	(void)!write(2, num, (size_t)n);
	(void)!write(2, ": ", 2);
	(void)!write(2, msg, strlen(msg));
	(void)!write(2, "\n", 1);
	_exit(1);
}

/* Write a string to fd 1 without stdio (no allocation). */
static inline void prog_say(const char *s)
{
	(void)!write(1, s, strlen(s));
}

#endif
