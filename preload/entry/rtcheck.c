/* rtcheck.c - wrappers of the real-time-unsafe calls other than allocation: locks and
 * waits, the sleep family, file, socket and stdio I/O, poll/select/epoll, mmap, thread
 * create/join, fork/system/popen. Inside a callback or marked region (audio_in_rt())
 * each call is recorded as a violation with its caller's stack (trylocks as warnings);
 * every call then goes to the real function with its arguments and errno untouched,
 * and a recorded call is timed (two clock reads around it: audio_violation_time).
 *
 * Cost outside real-time code: the checks of rtcheck_hot() (rtcheck.h), the load of
 * the real function's pointer and a tail jump to it (a call, in the few wrappers that
 * do work after the real function); a timed call is a call, so that the clock is read
 * when it returns: then the real function sees the wrapper as its caller; the stack is only read on the
 * slow path. The poll wrappers also tell audio_alsa.c that a wait ended, and
 * pthread_create starts each thread with a note of its stack bounds (runtime.h:
 * runtime_thread_start). The profiler's own calls (writer thread, symbols, profile output) run
 * with runtime_guard held and are never recorded.
 *
 * The open family, close and pipe2 also serve fds.c: an fd that libunwind, libdw,
 * libelf or jansson open for the profiler (runtime_guard held) is moved above the fd floor,
 * and their close of a number the program has since taken over is skipped.
 *
 * Reported names are what the program's source wrote: the fortified (__printf_chk,
 * __read_chk, __open_2, ...) and large-file (open64, pread64, mmap64, ...) entry
 * points report "printf", "read", "open", ...; frame 0 of the stack still shows the
 * exact symbol.
 *
 * Not wrapped: vfork (a wrapper's frame would be torn down under the child, which
 * shares the parent's stack), the exec family (shim.c owns it: RTCHECK there),
 * posix_spawn (its GLIBC_2.2.5 compat version behaves differently from the default
 * one; an unversioned wrapper would hand old binaries the new one). */
#undef _FORTIFY_SOURCE      /* we define read, printf, ... ourselves */
#undef _FILE_OFFSET_BITS    /* open must stay open, not become open64 */

#include "rtcheck.h"
#include "audio.h"
#include "fds.h"
#include "interpose.h"
#include "log.h"
#include "runtime.h"
#include "stacks.h"
#include "under.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#undef putc
#undef putchar

/* glibc's fortified entry points (declared by its headers only under _FORTIFY_SOURCE). */
extern int __printf_chk(int flag, const char *fmt, ...);
extern int __vprintf_chk(int flag, const char *fmt, va_list ap);
extern int __fprintf_chk(FILE *f, int flag, const char *fmt, ...);
extern int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap);
extern int __dprintf_chk(int fd, int flag, const char *fmt, ...);
extern int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap);
extern size_t __fread_chk(void *p, size_t plen, size_t size, size_t n, FILE *f);
extern char *__fgets_chk(char *s, size_t slen, int n, FILE *f);
extern ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
extern ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
extern ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);
extern ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
extern ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
			      struct sockaddr *addr, socklen_t *alen);
extern int __open_2(const char *path, int flags);
extern int __open64_2(const char *path, int flags);
extern int __openat_2(int dirfd, const char *path, int flags);
extern int __openat64_2(int dirfd, const char *path, int flags);
extern int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
extern int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
		       const sigset_t *mask, size_t fdslen);

/* ------------------------------------------------------------ the slow paths */

int rtcheck_record(enum ap_vkind kind, const char *call, uintptr_t fn, uintptr_t ra,
		   uintptr_t cfa, uintptr_t fp, int timed)
{
	int h = 0;
	int saved = errno;
	/* audio_in_rt() first: it also brings this thread's view of the thread names up
	 * to date, so that guarded threads (the writer) leave the slow path too. */
	int in = audio_in_rt();
	int st = __atomic_load_n(&runtime_state, __ATOMIC_ACQUIRE);
	if (in && !runtime_guard && (st == RUNTIME_READY || st == RUNTIME_EARLY) &&
	    !fds_in_unwinder(ra)) {   /* else the profiler's own call */
		runtime_guard++;
		/* In a handler that interrupted the profiler (runtime.h), neither libunwind
		 * nor the stack cache: [fn, ra] only. */
		int full = st == RUNTIME_READY && !runtime_sig_interrupted;
		site_id s = stacks_capture(full ? runtime_cache() : NULL, runtime_depth, full,
					   fn, ra, cfa, fp);
		struct rt_tls *t = &ap_rt;
		if (timed && t->ntiming >= 0 && t->ntiming < RT_TIMING_MAX) {
			struct rt_timing *tm = &t->timing[t->ntiming];
			audio_violation_timed(kind, call, s, tm);   /* may abort, as below */
			if (tm->slot)
				h = ++t->ntiming;
		} else {
			audio_violation(kind, call, s, 0);   /* may abort (AUDIOPROF_ON_VIOLATION) */
		}
		runtime_guard--;
	}
	errno = saved;
	if (h)
		ap_rt.timing[h - 1].t0 = clock_ticks();   /* last: the call's time starts here */
	return h;
}

/* The next definition of `name` after this library (the one of `version` if given and
 * found). errno is kept (dlsym may set it); what dlsym allocates is the profiler's. */
__attribute__((noinline, cold)) void *rtcheck_resolve(const struct real_slot *r)
{
	int saved = errno;
	runtime_guard++;
	void *p = r->version ? dlvsym(RTLD_NEXT, r->name, r->version) : NULL;
	if (!p)
		p = dlsym(RTLD_NEXT, r->name);
	runtime_guard--;
	if (!p) {
		log_msg("cannot find the real %s; aborting", r->name);
		abort();
	}
	__atomic_store_n(r->slot, p, __ATOMIC_RELAXED);
	errno = saved;
	return p;
}

__attribute__((constructor)) static void rtcheck_init(void)
{
	/* libunwind's code range (fds_in_unwinder): everything the profiler does runs
	 * under runtime_guard except libunwind's per-thread cache destructor (a pthread key),
	 * which locks and unmaps when a thread ends, after the profiler's own key
	 * destructor; calls made from there are the profiler's own. */
	runtime_guard++;
	fds_init();
	runtime_guard--;
	for (const struct real_slot *r = __start_rtcheck_reals; r < __stop_rtcheck_reals; r++)
		if (!__atomic_load_n(r->slot, __ATOMIC_RELAXED))
			rtcheck_resolve(r);
}

/* A wrapper with a fixed argument list: tail-call the real function, or, when the
 * thread may be in real-time code, tail-call rt_NAME, which checks, and calls the real
 * function timed when it recorded a violation. A tail call leaves rt_NAME the
 * wrapper's own frame layout (CALLER gives the program's return address), and keeps
 * the wrapper's fast path free of the slow path's register saves. */
#define WRAP_V(kind, call, version, ret, name, params, args) \
	ALIAS(name); \
	LIBC_SLOT(real_##name, name, version); \
	static __attribute__((noinline, noclone)) ret rt_##name params \
	{ \
		int h_; \
		RTCHECK_TIMED(kind, call, name, h_); \
		NEXT(real_##name); \
		RTCHECK_RETURN(h_, ret, next args); \
	} \
	EXPORT ret name params \
	{ \
		if (rtcheck_hot()) \
			return rt_##name args; \
		NEXT(real_##name); \
		return next args; \
	}
#define WRAP(kind, call, ret, name, params, args) \
	WRAP_V(kind, call, NULL, ret, name, params, args)

/* ------------------------------------------------------------ locks and waits */

WRAP(VK_LOCK, "pthread_mutex_lock", int, pthread_mutex_lock,
     (pthread_mutex_t *m), (m))
WRAP(VK_LOCK, "pthread_mutex_timedlock", int, pthread_mutex_timedlock,
     (pthread_mutex_t *restrict m, const struct timespec *restrict t), (m, t))
WRAP(VK_LOCK, "pthread_mutex_clocklock", int, pthread_mutex_clocklock,
     (pthread_mutex_t *restrict m, clockid_t c, const struct timespec *restrict t), (m, c, t))
WRAP(VK_LOCK, "pthread_rwlock_rdlock", int, pthread_rwlock_rdlock,
     (pthread_rwlock_t *l), (l))
WRAP(VK_LOCK, "pthread_rwlock_wrlock", int, pthread_rwlock_wrlock,
     (pthread_rwlock_t *l), (l))
WRAP(VK_LOCK, "pthread_rwlock_timedrdlock", int, pthread_rwlock_timedrdlock,
     (pthread_rwlock_t *restrict l, const struct timespec *restrict t), (l, t))
WRAP(VK_LOCK, "pthread_rwlock_timedwrlock", int, pthread_rwlock_timedwrlock,
     (pthread_rwlock_t *restrict l, const struct timespec *restrict t), (l, t))
WRAP(VK_LOCK, "pthread_rwlock_clockrdlock", int, pthread_rwlock_clockrdlock,
     (pthread_rwlock_t *restrict l, clockid_t c, const struct timespec *restrict t), (l, c, t))
WRAP(VK_LOCK, "pthread_rwlock_clockwrlock", int, pthread_rwlock_clockwrlock,
     (pthread_rwlock_t *restrict l, clockid_t c, const struct timespec *restrict t), (l, c, t))
/* The condition variables have two ABIs in glibc: the old GLIBC_2.2.5 one (a condvar
 * holding a pointer to the real one) and the default GLIBC_2.3.2. Our unversioned
 * definitions bind callers of either version and call the 2.3.2 one, which is what
 * every x86_64 binary built since glibc 2.3.2 (2003) references (tested by
 * t_rtcheck.sh); a binary still bound to 2.2.5 would be handed the new ABI. */
WRAP_V(VK_LOCK, "pthread_cond_wait", "GLIBC_2.3.2", int, pthread_cond_wait,
       (pthread_cond_t *restrict c, pthread_mutex_t *restrict m), (c, m))
WRAP_V(VK_LOCK, "pthread_cond_timedwait", "GLIBC_2.3.2", int, pthread_cond_timedwait,
       (pthread_cond_t *restrict c, pthread_mutex_t *restrict m,
	const struct timespec *restrict t), (c, m, t))
WRAP(VK_LOCK, "pthread_cond_clockwait", int, pthread_cond_clockwait,
     (pthread_cond_t *restrict c, pthread_mutex_t *restrict m, clockid_t k,
      const struct timespec *restrict t), (c, m, k, t))
WRAP(VK_LOCK, "pthread_spin_lock", int, pthread_spin_lock,
     (pthread_spinlock_t *l), (l))
WRAP(VK_LOCK, "sem_wait", int, sem_wait, (sem_t *s), (s))
WRAP(VK_LOCK, "sem_timedwait", int, sem_timedwait,
     (sem_t *restrict s, const struct timespec *restrict t), (s, t))
WRAP(VK_LOCK, "sem_clockwait", int, sem_clockwait,
     (sem_t *restrict s, clockid_t c, const struct timespec *restrict t), (s, c, t))
WRAP(VK_LOCK, "pthread_barrier_wait", int, pthread_barrier_wait,
     (pthread_barrier_t *b), (b))

/* Never blocks: a warning, not a violation. */
WRAP(VK_TRYLOCK, "pthread_mutex_trylock", int, pthread_mutex_trylock,
     (pthread_mutex_t *m), (m))
WRAP(VK_TRYLOCK, "pthread_rwlock_tryrdlock", int, pthread_rwlock_tryrdlock,
     (pthread_rwlock_t *l), (l))
WRAP(VK_TRYLOCK, "pthread_rwlock_trywrlock", int, pthread_rwlock_trywrlock,
     (pthread_rwlock_t *l), (l))
WRAP(VK_TRYLOCK, "pthread_spin_trylock", int, pthread_spin_trylock,
     (pthread_spinlock_t *l), (l))
WRAP(VK_TRYLOCK, "sem_trywait", int, sem_trywait, (sem_t *s), (s))

/* ------------------------------------------------------------ sleeping */

WRAP(VK_SLEEP, "sleep", unsigned int, sleep, (unsigned int s), (s))
WRAP(VK_SLEEP, "usleep", int, usleep, (useconds_t us), (us))
WRAP(VK_SLEEP, "nanosleep", int, nanosleep,
     (const struct timespec *t, struct timespec *rem), (t, rem))
WRAP(VK_SLEEP, "clock_nanosleep", int, clock_nanosleep,
     (clockid_t c, int flags, const struct timespec *t, struct timespec *rem), (c, flags, t, rem))
WRAP(VK_SLEEP, "sched_yield", int, sched_yield, (void), ())

/* ------------------------------------------------------------ file and socket I/O */

WRAP(VK_IO, "read", ssize_t, read, (int fd, void *b, size_t n), (fd, b, n))
WRAP(VK_IO, "read", ssize_t, __read_chk, (int fd, void *b, size_t n, size_t bl), (fd, b, n, bl))
WRAP(VK_IO, "write", ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n))
WRAP(VK_IO, "pread", ssize_t, pread, (int fd, void *b, size_t n, off_t o), (fd, b, n, o))
WRAP(VK_IO, "pread", ssize_t, pread64, (int fd, void *b, size_t n, off64_t o), (fd, b, n, o))
WRAP(VK_IO, "pread", ssize_t, __pread_chk,
     (int fd, void *b, size_t n, off_t o, size_t bl), (fd, b, n, o, bl))
WRAP(VK_IO, "pread", ssize_t, __pread64_chk,
     (int fd, void *b, size_t n, off64_t o, size_t bl), (fd, b, n, o, bl))
WRAP(VK_IO, "pwrite", ssize_t, pwrite, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
WRAP(VK_IO, "pwrite", ssize_t, pwrite64,
     (int fd, const void *b, size_t n, off64_t o), (fd, b, n, o))
WRAP(VK_IO, "readv", ssize_t, readv, (int fd, const struct iovec *v, int n), (fd, v, n))
WRAP(VK_IO, "writev", ssize_t, writev, (int fd, const struct iovec *v, int n), (fd, v, n))
WRAP(VK_IO, "preadv", ssize_t, preadv,
     (int fd, const struct iovec *v, int n, off_t o), (fd, v, n, o))
WRAP(VK_IO, "preadv", ssize_t, preadv64,
     (int fd, const struct iovec *v, int n, off64_t o), (fd, v, n, o))
WRAP(VK_IO, "pwritev", ssize_t, pwritev,
     (int fd, const struct iovec *v, int n, off_t o), (fd, v, n, o))
WRAP(VK_IO, "pwritev", ssize_t, pwritev64,
     (int fd, const struct iovec *v, int n, off64_t o), (fd, v, n, o))
/* close also serves fds.c: a close that libdw makes for the profiler, of a number that
 * no longer holds the file it claimed, is skipped (the program's fd stays open). */
ALIAS(close);
LIBC_SLOT(real_close, close, NULL);
static __attribute__((noinline, noclone)) int rt_close(int fd)   /* as rt_NAME of WRAP */
{
	int h;
	RTCHECK_TIMED(VK_IO, "close", close, h);
	if (unlikely(runtime_guard) && fds_disowned(fd, (uintptr_t)__builtin_return_address(0)))
		return 0;
	NEXT(real_close);
	RTCHECK_RETURN(h, int, next(fd));
}
EXPORT int close(int fd)
{
	if (rtcheck_hot())
		return rt_close(fd);
	if (unlikely(runtime_guard) && fds_disowned(fd, (uintptr_t)__builtin_return_address(0)))
		return 0;
	NEXT(real_close);
	return next(fd);
}
WRAP(VK_IO, "fsync", int, fsync, (int fd), (fd))
WRAP(VK_IO, "fdatasync", int, fdatasync, (int fd), (fd))
WRAP(VK_IO, "creat", int, creat, (const char *p, mode_t m), (p, m))
WRAP(VK_IO, "creat", int, creat64, (const char *p, mode_t m), (p, m))
WRAP(VK_IO, "open", int, __open_2, (const char *p, int f), (p, f))
WRAP(VK_IO, "open", int, __open64_2, (const char *p, int f), (p, f))
WRAP(VK_IO, "openat", int, __openat_2, (int d, const char *p, int f), (d, p, f))
WRAP(VK_IO, "openat", int, __openat64_2, (int d, const char *p, int f), (d, p, f))

/* open and openat take a mode only when they may create a file. */
static inline int needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define WRAP_OPEN(call, name) \
	ALIAS(name); \
	LIBC_SLOT(real_##name, name, NULL); \
	EXPORT int name(const char *path, int flags, ...) \
	{ \
		int h; \
		RTCHECK_TIMED(VK_IO, call, name, h); \
		NEXT(real_##name); \
		mode_t mode = 0; \
		if (needs_mode(flags)) { \
			va_list ap; \
			va_start(ap, flags); \
			mode = va_arg(ap, mode_t); \
			va_end(ap); \
		} \
		int fd; \
		RTCHECK_CALL(h, fd, next(path, flags, mode)); \
		if (unlikely(runtime_guard)) \
			fd = fds_claim(fd, (uintptr_t)__builtin_return_address(0)); \
		return fd; \
	}
WRAP_OPEN("open", open)
WRAP_OPEN("open", open64)

#define WRAP_OPENAT(call, name) \
	ALIAS(name); \
	LIBC_SLOT(real_##name, name, NULL); \
	EXPORT int name(int dirfd, const char *path, int flags, ...) \
	{ \
		int h; \
		RTCHECK_TIMED(VK_IO, call, name, h); \
		NEXT(real_##name); \
		mode_t mode = 0; \
		if (needs_mode(flags)) { \
			va_list ap; \
			va_start(ap, flags); \
			mode = va_arg(ap, mode_t); \
			va_end(ap); \
		} \
		int fd; \
		RTCHECK_CALL(h, fd, next(dirfd, path, flags, mode)); \
		if (unlikely(runtime_guard)) \
			fd = fds_claim(fd, (uintptr_t)__builtin_return_address(0)); \
		return fd; \
	}
WRAP_OPENAT("openat", openat)
WRAP_OPENAT("openat", openat64)

/* Not a real-time check: pipe2 is interposed only for the profiler's own libraries.
 * libunwind opens its memory-validation pipe with it; fds_pipe2 refuses that pipe
 * (stacks.c validates without one) or keeps it above the floor. Anyone else's call
 * goes straight to the real function. */
LIBC_SLOT(real_pipe2, pipe2, NULL);
EXPORT int pipe2(int fds[2], int flags)
{
	if (unlikely(runtime_guard) && fds_ours((uintptr_t)__builtin_return_address(0)))
		return fds_pipe2(fds, flags);
	NEXT(real_pipe2);
	return next(fds, flags);
}

/* Every ioctl request passes at most one argument: a pointer or an integer, passed on
 * as the pointer-sized word it arrived in. */
ALIAS(ioctl);
LIBC_SLOT(real_ioctl, ioctl, NULL);
EXPORT int ioctl(int fd, unsigned long request, ...)
{
	int h;
	RTCHECK_TIMED(VK_IO, "ioctl", ioctl, h);
	NEXT(real_ioctl);
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	RTCHECK_RETURN(h, int, next(fd, request, arg));
}

WRAP(VK_IO, "send", ssize_t, send, (int fd, const void *b, size_t n, int fl), (fd, b, n, fl))
WRAP(VK_IO, "sendto", ssize_t, sendto,
     (int fd, const void *b, size_t n, int fl, __CONST_SOCKADDR_ARG a, socklen_t al),
     (fd, b, n, fl, a, al))
WRAP(VK_IO, "sendmsg", ssize_t, sendmsg, (int fd, const struct msghdr *m, int fl), (fd, m, fl))
WRAP(VK_IO, "recv", ssize_t, recv, (int fd, void *b, size_t n, int fl), (fd, b, n, fl))
WRAP(VK_IO, "recv", ssize_t, __recv_chk,
     (int fd, void *b, size_t n, size_t bl, int fl), (fd, b, n, bl, fl))
WRAP(VK_IO, "recvfrom", ssize_t, recvfrom,
     (int fd, void *restrict b, size_t n, int fl, __SOCKADDR_ARG a, socklen_t *restrict al), (fd, b, n, fl, a, al))
WRAP(VK_IO, "recvfrom", ssize_t, __recvfrom_chk,
     (int fd, void *b, size_t n, size_t bl, int fl, struct sockaddr *a, socklen_t *al),
     (fd, b, n, bl, fl, a, al))
WRAP(VK_IO, "recvmsg", ssize_t, recvmsg, (int fd, struct msghdr *m, int fl), (fd, m, fl))
WRAP(VK_IO, "connect", int, connect,
     (int fd, __CONST_SOCKADDR_ARG a, socklen_t al), (fd, a, al))
WRAP(VK_IO, "accept", int, accept,
     (int fd, __SOCKADDR_ARG a, socklen_t *restrict al), (fd, a, al))
WRAP(VK_IO, "accept4", int, accept4,
     (int fd, __SOCKADDR_ARG a, socklen_t *restrict al, int fl), (fd, a, al, fl))

/* ------------------------------------------------------------ stdio */

/* Inside glibc, printf reaches vfprintf without the PLT: each public entry point is
 * wrapped, and the variadic ones format through glibc's own v-variant. */
#define WRAP_PRINTF(call, name, vname, params, last, ...) \
	ALIAS(name); \
	LIBC_SLOT(vreal_##name, vname, NULL); \
	EXPORT int name params \
	{ \
		int h; \
		RTCHECK_TIMED(VK_IO, call, name, h); \
		NEXT(vreal_##name); \
		va_list ap; \
		va_start(ap, last); \
		int r; \
		RTCHECK_CALL(h, r, next(__VA_ARGS__, ap)); \
		va_end(ap); \
		return r; \
	}
WRAP_PRINTF("printf", printf, vprintf, (const char *restrict fmt, ...), fmt, fmt)
WRAP_PRINTF("printf", __printf_chk, __vprintf_chk, (int flag, const char *fmt, ...), fmt,
	    flag, fmt)
WRAP_PRINTF("fprintf", fprintf, vfprintf, (FILE *restrict f, const char *restrict fmt, ...),
	    fmt, f, fmt)
WRAP_PRINTF("fprintf", __fprintf_chk, __vfprintf_chk, (FILE *f, int flag, const char *fmt, ...),
	    fmt, f, flag, fmt)
WRAP_PRINTF("dprintf", dprintf, vdprintf, (int fd, const char *restrict fmt, ...), fmt, fd, fmt)
WRAP_PRINTF("dprintf", __dprintf_chk, __vdprintf_chk, (int fd, int flag, const char *fmt, ...),
	    fmt, fd, flag, fmt)

WRAP(VK_IO, "vprintf", int, vprintf, (const char *restrict fmt, va_list ap), (fmt, ap))
WRAP(VK_IO, "vprintf", int, __vprintf_chk, (int fl, const char *fmt, va_list ap), (fl, fmt, ap))
WRAP(VK_IO, "vfprintf", int, vfprintf,
     (FILE *restrict f, const char *restrict fmt, va_list ap), (f, fmt, ap))
WRAP(VK_IO, "vfprintf", int, __vfprintf_chk,
     (FILE *f, int fl, const char *fmt, va_list ap), (f, fl, fmt, ap))
WRAP(VK_IO, "vdprintf", int, vdprintf, (int fd, const char *restrict fmt, va_list ap), (fd, fmt, ap))
WRAP(VK_IO, "vdprintf", int, __vdprintf_chk,
     (int fd, int fl, const char *fmt, va_list ap), (fd, fl, fmt, ap))
WRAP(VK_IO, "puts", int, puts, (const char *s), (s))
WRAP(VK_IO, "fputs", int, fputs, (const char *restrict s, FILE *restrict f), (s, f))
WRAP(VK_IO, "fputc", int, fputc, (int c, FILE *f), (c, f))
WRAP(VK_IO, "putc", int, putc, (int c, FILE *f), (c, f))
WRAP(VK_IO, "putchar", int, putchar, (int c), (c))
WRAP(VK_IO, "fwrite", size_t, fwrite,
     (const void *restrict p, size_t s, size_t n, FILE *restrict f), (p, s, n, f))
WRAP(VK_IO, "fread", size_t, fread,
     (void *restrict p, size_t s, size_t n, FILE *restrict f), (p, s, n, f))
WRAP(VK_IO, "fread", size_t, __fread_chk,
     (void *p, size_t pl, size_t s, size_t n, FILE *f), (p, pl, s, n, f))
WRAP(VK_IO, "fgets", char *, fgets, (char *restrict s, int n, FILE *restrict f), (s, n, f))
WRAP(VK_IO, "fgets", char *, __fgets_chk, (char *s, size_t sl, int n, FILE *f), (s, sl, n, f))
WRAP(VK_IO, "fflush", int, fflush, (FILE *f), (f))
WRAP(VK_IO, "fopen", FILE *, fopen, (const char *restrict p, const char *restrict m), (p, m))
WRAP(VK_IO, "fopen", FILE *, fopen64, (const char *restrict p, const char *restrict m), (p, m))
WRAP(VK_IO, "fclose", int, fclose, (FILE *f), (f))

/* ------------------------------------------------------------ poll, select, epoll */

/* A poll returning may end the wait of a thread that writes an ALSA PCM (the start
 * of its next period): audio_alsa.c decides, after the real call. */

#define WRAP_WAIT(call, name, params, args) \
	ALIAS(name); \
	LIBC_SLOT(real_##name, name, NULL); \
	EXPORT int name params \
	{ \
		int h; \
		RTCHECK_TIMED(VK_POLL, call, name, h); \
		NEXT(real_##name); \
		int r; \
		RTCHECK_CALL(h, r, next args); \
		if (r > 0) {   /* a descriptor is ready: an ALSA wait may have ended */ \
			int saved = errno; \
			audio_alsa_wait_done(); \
			errno = saved; \
		} \
		return r; \
	}
WRAP_WAIT("poll", poll, (struct pollfd *fds, nfds_t n, int t), (fds, n, t))
WRAP_WAIT("poll", __poll_chk, (struct pollfd *fds, nfds_t n, int t, size_t fl), (fds, n, t, fl))
WRAP_WAIT("ppoll", ppoll,
	  (struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *m), (fds, n, t, m))
WRAP_WAIT("ppoll", __ppoll_chk,
	  (struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *m, size_t fl),
	  (fds, n, t, m, fl))
WRAP(VK_POLL, "select", int, select,
     (int n, fd_set *restrict r, fd_set *restrict w, fd_set *restrict e,
      struct timeval *restrict t), (n, r, w, e, t))
WRAP(VK_POLL, "pselect", int, pselect,
     (int n, fd_set *restrict r, fd_set *restrict w, fd_set *restrict e,
      const struct timespec *restrict t, const sigset_t *restrict m), (n, r, w, e, t, m))
WRAP(VK_POLL, "epoll_wait", int, epoll_wait,
     (int fd, struct epoll_event *ev, int n, int t), (fd, ev, n, t))
WRAP(VK_POLL, "epoll_pwait", int, epoll_pwait,
     (int fd, struct epoll_event *ev, int n, int t, const sigset_t *m), (fd, ev, n, t, m))
WRAP(VK_POLL, "epoll_pwait2", int, epoll_pwait2,
     (int fd, struct epoll_event *ev, int n, const struct timespec *t, const sigset_t *m),
     (fd, ev, n, t, m))

/* ------------------------------------------------------------ memory mappings */

WRAP(VK_MMAP, "mmap", void *, mmap,
     (void *a, size_t l, int p, int f, int fd, off_t o), (a, l, p, f, fd, o))
WRAP(VK_MMAP, "mmap", void *, mmap64,
     (void *a, size_t l, int p, int f, int fd, off64_t o), (a, l, p, f, fd, o))
WRAP(VK_MMAP, "munmap", int, munmap, (void *a, size_t l), (a, l))

/* The new address is passed only with MREMAP_FIXED. */
ALIAS(mremap);
LIBC_SLOT(real_mremap, mremap, NULL);
EXPORT void *mremap(void *old, size_t old_size, size_t new_size, int flags, ...)
{
	int h;
	RTCHECK_TIMED(VK_MMAP, "mremap", mremap, h);
	NEXT(real_mremap);
	void *to = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		to = va_arg(ap, void *);
		va_end(ap);
	}
	RTCHECK_RETURN(h, void *, next(old, old_size, new_size, flags, to));
}

/* ------------------------------------------------------------ threads and processes */

/* Every new thread first notes its stack bounds (runtime_thread_start), holding no
 * lock yet, then jumps to its start routine: the call is a tail call, so the thread's
 * stacks show no frame of ours. The start record comes from the allocator underneath. */
struct thread_start {
	void *(*fn)(void *);
	void *arg;
};

static void *thread_start(void *p)
{
	struct thread_start s = *(struct thread_start *)p;
	u_free(p);
	runtime_thread_start();
	return s.fn(s.arg);
}

ALIAS(pthread_create);
LIBC_SLOT(real_pthread_create, pthread_create, NULL);
EXPORT int pthread_create(pthread_t *restrict t, const pthread_attr_t *restrict a,
			  void *(*fn)(void *), void *restrict arg)
{
	int h;
	RTCHECK_TIMED(VK_THREAD, "pthread_create", pthread_create, h);
	NEXT(real_pthread_create);
	struct thread_start *s = u_malloc(sizeof(*s));
	if (!s)   /* no bounds: that thread's stacks are not cached */
		RTCHECK_RETURN(h, int, next(t, a, fn, arg));
	s->fn = fn;
	s->arg = arg;
	int r;
	RTCHECK_CALL(h, r, next(t, a, thread_start, s));
	if (r != 0)
		u_free(s);
	return r;
}
/* C11 threads: glibc's thrd_create calls its pthread_create internally, past the
 * wrapper above, so it gets the same start of its own. */
struct c11_start {
	thrd_start_t fn;
	void *arg;
};

static int c11_thread_start(void *p)
{
	struct c11_start s = *(struct c11_start *)p;
	u_free(p);
	runtime_thread_start();
	return s.fn(s.arg);
}

ALIAS(thrd_create);
LIBC_SLOT(real_thrd_create, thrd_create, NULL);
EXPORT int thrd_create(thrd_t *t, thrd_start_t fn, void *arg)
{
	int h;
	RTCHECK_TIMED(VK_THREAD, "thrd_create", thrd_create, h);
	NEXT(real_thrd_create);
	struct c11_start *s = u_malloc(sizeof(*s));
	if (!s)
		RTCHECK_RETURN(h, int, next(t, fn, arg));
	s->fn = fn;
	s->arg = arg;
	int r;
	RTCHECK_CALL(h, r, next(t, c11_thread_start, s));
	if (r != thrd_success)
		u_free(s);
	return r;
}
WRAP(VK_THREAD, "pthread_join", int, pthread_join, (pthread_t t, void **r), (t, r))
WRAP(VK_PROCESS, "fork", pid_t, fork, (void), ())
WRAP(VK_PROCESS, "system", int, system, (const char *cmd), (cmd))
WRAP(VK_PROCESS, "popen", FILE *, popen, (const char *cmd, const char *m), (cmd, m))
