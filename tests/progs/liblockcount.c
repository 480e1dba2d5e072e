/* liblockcount.c - t_rt_nolock.sh's counter: an LD_PRELOAD module, listed AFTER
 * libaudioprof.so (or alone), that counts the calls one thread makes, while the program
 * says it is inside its real-time region, to the functions that can block, allocate or
 * enter the kernel: locks, semaphores, the loader's dl_iterate_phdr and dladdr, the
 * malloc family, the signal mask, mmap, read and open.
 *
 * The program turns counting on and off for the calling thread with
 * lockcount_region(1 / 0), which it finds with dlsym(RTLD_DEFAULT, ...) (absent: no
 * counting, the program runs as usual). Behind the profiler the chain is program ->
 * profiler's wrapper -> (RTLD_NEXT) this module -> libc, and a call the profiler or its
 * libunwind makes reaches this module too (the profiler takes this module's malloc
 * family as the allocator underneath, and its own pthread_mutex_lock and the rest
 * forward here): so, per function, the count under the profiler minus the count of
 * the same program without it is what the profiler added on that thread.
 * At exit it writes one line "FUNCTION COUNT" per function (all of them, 0 included)
 * to the file $LOCKCOUNT_OUT, with raw system calls; never anything to stdout or
 * stderr. Counting is one relaxed atomic add: no lock, allocation or syscall of its
 * own; the real functions are looked up in the constructor (or at a first call that
 * comes earlier). free(NULL) is not counted. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FUNCS(X) \
	X(pthread_mutex_lock) X(pthread_mutex_trylock) X(pthread_mutex_timedlock) \
	X(pthread_rwlock_rdlock) X(pthread_rwlock_wrlock) X(pthread_rwlock_tryrdlock) \
	X(pthread_rwlock_trywrlock) X(pthread_rwlock_timedrdlock) X(pthread_rwlock_timedwrlock) \
	X(pthread_spin_lock) X(pthread_spin_trylock) X(sem_wait) X(sem_trywait) X(sem_timedwait) \
	X(dl_iterate_phdr) X(dladdr) X(dladdr1) \
	X(malloc) X(calloc) X(realloc) X(free) X(memalign) X(posix_memalign) X(aligned_alloc) \
	X(sigprocmask) X(pthread_sigmask) X(mmap) X(munmap) X(read) X(open) X(openat)

#define ENUM(f) C_##f,
enum { FUNCS(ENUM) NFUNCS };
#define NAME(f) #f,
static const char *const names[NFUNCS] = { FUNCS(NAME) };

static unsigned long counts[NFUNCS];
static __thread int on __attribute__((tls_model("initial-exec")));

void lockcount_region(int enable);
void lockcount_region(int enable)
{
	on = enable;
}

#define COUNT(f) do { \
		if (on) \
			__atomic_add_fetch(&counts[C_##f], 1, __ATOMIC_RELAXED); \
	} while (0)

/* ------------------------------------------------------------------ the real functions */

#define PTR(f) static __typeof__(f) *real_##f;
FUNCS(PTR)

/* dlsym may calloc (dlerror's buffer) before real_calloc is known. */
static char boot[4096] __attribute__((aligned(16)));
static size_t boot_used;
static int resolving;

static void resolve(void)
{
	if (__atomic_load_n(&real_free, __ATOMIC_ACQUIRE))
		return;
	resolving = 1;
#define LOOKUP(f) real_##f = (__typeof__(f) *)dlsym(RTLD_NEXT, #f);
	FUNCS(LOOKUP)
	resolving = 0;
}

__attribute__((constructor)) static void lockcount_init(void)
{
	resolve();
}

__attribute__((destructor)) static void lockcount_write(void)
{
	const char *path = getenv("LOCKCOUNT_OUT");
	if (!path)
		return;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	for (int i = 0; i < NFUNCS; i++) {
		char line[96], num[24];
		int n = 0;
		unsigned long v = __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
		do { num[n++] = (char)('0' + v % 10); v /= 10; } while (v);
		size_t l = strlen(names[i]);
		memcpy(line, names[i], l);
		line[l++] = ' ';
		while (n)
			line[l++] = num[--n];
		line[l++] = '\n';
		syscall(SYS_write, fd, line, l);
	}
	syscall(SYS_close, fd);
}

/* ------------------------------------------------------------------ locks */

#define WRAP1(ret, f, T) \
	ret f(T a) { resolve(); COUNT(f); return real_##f(a); }
#define WRAP2(ret, f, T, U) \
	ret f(T a, U b) { resolve(); COUNT(f); return real_##f(a, b); }

WRAP1(int, pthread_mutex_lock, pthread_mutex_t *)
WRAP1(int, pthread_mutex_trylock, pthread_mutex_t *)
WRAP2(int, pthread_mutex_timedlock, pthread_mutex_t *restrict, const struct timespec *restrict)
WRAP1(int, pthread_rwlock_rdlock, pthread_rwlock_t *)
WRAP1(int, pthread_rwlock_wrlock, pthread_rwlock_t *)
WRAP1(int, pthread_rwlock_tryrdlock, pthread_rwlock_t *)
WRAP1(int, pthread_rwlock_trywrlock, pthread_rwlock_t *)
WRAP2(int, pthread_rwlock_timedrdlock, pthread_rwlock_t *restrict, const struct timespec *restrict)
WRAP2(int, pthread_rwlock_timedwrlock, pthread_rwlock_t *restrict, const struct timespec *restrict)
WRAP1(int, pthread_spin_lock, pthread_spinlock_t *)
WRAP1(int, pthread_spin_trylock, pthread_spinlock_t *)
WRAP1(int, sem_wait, sem_t *)
WRAP1(int, sem_trywait, sem_t *)
WRAP2(int, sem_timedwait, sem_t *restrict, const struct timespec *restrict)

/* ------------------------------------------------------------------ the loader */

int dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *arg)
{
	resolve();
	COUNT(dl_iterate_phdr);
	return real_dl_iterate_phdr(cb, arg);
}

WRAP2(int, dladdr, const void *, Dl_info *)

int dladdr1(const void *addr, Dl_info *info, void **extra, int flags)
{
	resolve();
	COUNT(dladdr1);
	return real_dladdr1(addr, info, extra, flags);
}

/* ------------------------------------------------------------------ allocation */

void *malloc(size_t n)
{
	resolve();
	COUNT(malloc);
	return real_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (!real_calloc && (resolving || !real_free)) {
		if (boot_used + a * b <= sizeof boot) {   /* dlsym's, during resolve */
			void *p = boot + boot_used;
			boot_used += (a * b + 15) & ~(size_t)15;
			return p;
		}
		return NULL;
	}
	COUNT(calloc);
	return real_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	resolve();
	COUNT(realloc);
	return real_realloc(p, n);
}

void free(void *p)
{
	if (!p || ((char *)p >= boot && (char *)p < boot + sizeof boot))
		return;
	resolve();
	COUNT(free);
	real_free(p);
}

WRAP2(void *, memalign, size_t, size_t)
WRAP2(void *, aligned_alloc, size_t, size_t)

int posix_memalign(void **pp, size_t a, size_t n)
{
	resolve();
	COUNT(posix_memalign);
	return real_posix_memalign(pp, a, n);
}

/* ------------------------------------------------------------------ signals, memory, files */

int sigprocmask(int how, const sigset_t *restrict set, sigset_t *restrict old)
{
	resolve();
	COUNT(sigprocmask);
	return real_sigprocmask(how, set, old);
}

int pthread_sigmask(int how, const sigset_t *restrict set, sigset_t *restrict old)
{
	resolve();
	COUNT(pthread_sigmask);
	return real_pthread_sigmask(how, set, old);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	resolve();
	COUNT(mmap);
	return real_mmap(addr, len, prot, flags, fd, off);
}

WRAP2(int, munmap, void *, size_t)

ssize_t read(int fd, void *buf, size_t n)
{
	resolve();
	COUNT(read);
	return real_read(fd, buf, n);
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	resolve();
	COUNT(open);
	return real_open(path, flags, mode);
}

int openat(int dir, const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	resolve();
	COUNT(openat);
	return real_openat(dir, path, flags, mode);
}
