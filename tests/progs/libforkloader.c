/* libforkloader.c - puts a fork() in the middle of a dl_iterate_phdr call made by one of
 * the profiler's own threads (t_fork_loader.sh, with forkloader.c). An LD_PRELOAD module
 * listed AFTER libaudioprof.so, so that the profiler's calls to dl_iterate_phdr reach it;
 * it passes every call on to the C library's. Once the program has armed it
 * (forkloader_arm), the first call from a thread named "audioprof..." (the writer,
 * "audioprof", or the symbolizer, "audioprof-sym") gets a wrapping callback: at the first
 * object, with the loader's lock held, it tells the program to fork now
 * (forkloader_wait_request returns 1) and waits until the program says it forked
 * (forkloader_forked), at most 1 s, then goes on. Without the profiler keeping its loader
 * calls apart from fork(), the child is forked with that lock held by a thread it does
 * not have. The hand-off is through memory (futex words), not pipes: the profiler's
 * threads have an fd table of their own, without the program's later descriptors. */
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef int (*phdr_cb)(struct dl_phdr_info *, size_t, void *);

static int armed, fired;   /* atomic: the program armed it; the wrapping call was made */
static int request, forked;   /* futex words, 0 then 1 */

/* Wait until *word is nonzero, at most ms milliseconds. Returns whether it is. */
static int wait_word(int *word, long ms)
{
	struct timespec now, end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	while (!__atomic_load_n(word, __ATOMIC_ACQUIRE)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			return 0;
		struct timespec d = { 0, 10000000 };   /* re-check every 10 ms at most */
		syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 0, &d, NULL, 0);
	}
	return 1;
}

static void set_word(int *word)
{
	__atomic_store_n(word, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* The program's side, found with dlsym. */
void forkloader_arm(void) { __atomic_store_n(&armed, 1, __ATOMIC_RELEASE); }
int forkloader_wait_request(long ms) { return wait_word(&request, ms); }
void forkloader_forked(void) { set_word(&forked); }

struct wrap {
	phdr_cb cb;
	void *arg;
	int first;
};

static int wrap_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct wrap *w = arg;
	if (w->first) {
		w->first = 0;
		set_word(&request);
		wait_word(&forked, 1000);
	}
	return w->cb(info, size, w->arg);
}

static int profiler_thread(void)
{
	char name[17] = "";
	prctl(PR_GET_NAME, name, 0, 0, 0);
	return strncmp(name, "audioprof", 9) == 0;
}

int dl_iterate_phdr(phdr_cb cb, void *arg)
{
	static int (*real)(phdr_cb, void *);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "dl_iterate_phdr");
	if (__atomic_load_n(&armed, __ATOMIC_ACQUIRE) && !__atomic_load_n(&fired, __ATOMIC_RELAXED) &&
	    profiler_thread() && !__atomic_exchange_n(&fired, 1, __ATOMIC_ACQ_REL)) {
		struct wrap w = { cb, arg, 1 };
		return real(wrap_cb, &w);
	}
	return real(cb, arg);
}
