/* getattr_first.c - a thread whose first allocation happens inside its own
 * pthread_getattr_np(pthread_self()): glibc holds the thread's lock there while it
 * allocates (fopen of /proc/self/maps for the main thread, the affinity set for every
 * thread), so a profiler that asks for the thread's attributes on its first allocation
 * waits on itself. Rust's std runtime does exactly this before main.
 *
 *   getattr_first main     main's first statement is the call
 *   getattr_first thread   a new thread's first statement is the call
 *   getattr_first both     both
 *   getattr_first c11      a C11 thread (thrd_create) does it first
 *
 * Then each of those threads makes ALLOCS blocks of 100 bytes at after_getattr (one
 * site per thread kind: after_getattr_main, after_getattr_thread, after_getattr_c11)
 * and frees them.
 * Prints the stack size the call reported (nonzero) and "ok". */
#include "progs.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <threads.h>

#define ALLOCS 1000

static void * volatile sink;

static void NOINLINE after_getattr_main(void)
{
	for (int i = 0; i < ALLOCS; i++) {
		sink = malloc(100);
		free(sink);
	}
}

static void NOINLINE after_getattr_c11(void)
{
	for (int i = 0; i < ALLOCS; i++) {
		sink = malloc(100);
		free(sink);
	}
}

static void NOINLINE after_getattr_thread(void)
{
	for (int i = 0; i < ALLOCS; i++) {
		sink = malloc(100);
		free(sink);
	}
}

/* The attributes of the calling thread: nonzero stack size, or a failed check. */
static size_t NOINLINE own_stack_size(void)
{
	pthread_attr_t a;
	PROG_CHECK(pthread_getattr_np(pthread_self(), &a) == 0, "pthread_getattr_np failed");
	void *lo = NULL;
	size_t size = 0;
	PROG_CHECK(pthread_attr_getstack(&a, &lo, &size) == 0, "pthread_attr_getstack failed");
	pthread_attr_destroy(&a);
	PROG_CHECK(size > 0 && lo != NULL, "empty stack");
	return size;
}

static void *thread_main(void *arg)
{
	size_t *out = arg;
	*out = own_stack_size();
	after_getattr_thread();
	return NULL;
}

static int c11_main(void *arg)
{
	size_t *out = arg;
	*out = own_stack_size();
	after_getattr_c11();
	return 7;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "both";
	int do_main = strcmp(mode, "main") == 0 || strcmp(mode, "both") == 0;
	int do_thread = strcmp(mode, "thread") == 0 || strcmp(mode, "both") == 0;
	int do_c11 = strcmp(mode, "c11") == 0;
	PROG_CHECK(do_main || do_thread || do_c11, "usage: getattr_first main|thread|both|c11");
	size_t main_size = 0, thread_size = 0;
	if (do_main) {
		main_size = own_stack_size();
		after_getattr_main();
	}
	if (do_thread) {
		pthread_t t;
		PROG_CHECK(pthread_create(&t, NULL, thread_main, &thread_size) == 0, "pthread_create");
		PROG_CHECK(pthread_join(t, NULL) == 0, "pthread_join");
	}
	if (do_c11) {
		thrd_t t;
		int res = 0;
		PROG_CHECK(thrd_create(&t, c11_main, &thread_size) == thrd_success, "thrd_create");
		PROG_CHECK(thrd_join(t, &res) == thrd_success && res == 7, "thrd_join");
	}
	printf("getattr_first %s: main stack %s, thread stack %s: ok\n", mode,
	       main_size ? "known" : "-", thread_size ? "known" : "-");
	return 0;
}
