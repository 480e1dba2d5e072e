/* rtstacks.c - a real-time thread that violates from many stacks it meets for the first
 * time inside its marked region (t_rt_nolock.sh): what the profiler does on the audio
 * thread when a violation's stack is new to it (the stack cache's miss path).
 *
 * The thread (pthread_create) warms up outside the region (malloc's arena and top pad,
 * every libc function it will call, the region's first entry), then installs a seccomp
 * filter on itself only (no TSYNC) that traps every system call not made from this
 * program's own syscall gate, and runs region "rtstacks": 8 x 8 x 4 = 256 distinct
 * chains leaf_J <- mid_I <- rec x (D+1) <- run_chains <- rt_main, each leaf doing
 * malloc, calloc, realloc, pthread_mutex_lock/unlock and two frees, plus 16 chains
 * through librtmod.so (dlopen'ed, RTLD_NOW): rtmod_site_K <- rtmod_run <- rec_mod x
 * (D+1); every chain twice. The SIGSYS handler counts each trapped system call by
 * number while the region runs and then makes it through the gate (rt_sigprocmask is
 * emulated on the signal frame's mask, which sigreturn restores, and SIGSYS stays
 * unblocked), so the program and the profiler run as they would untrapped.
 * With RTSTACKS_COLD set the thread does no warm-up: its first allocation, lock and
 * region entry are inside the region (the main thread warms glibc up instead).
 * It also tells liblockcount.so, when preloaded, when the region starts and ends
 * (lockcount_region, found with dlsym(RTLD_DEFAULT)).
 * Usage: rtstacks OUT-FILE [librtmod.so]. stdout: one line of totals, identical with
 * and without the profiler. OUT-FILE: the program's true numbers and what it trapped:
 *     expect CALL COUNT BYTES F1,F2,...,rt_main   (per chain and call; F1 innermost)
 *     totals allocs A frees F bytes B locks L     (in the region)
 *     syscalls N                                  (trapped in the region)
 *     syscall NR N                                (each number trapped, N times)
 * x86-64 Linux only (the gate and the register layout). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include "audioprof.h"
#include "progs.h"

#if !defined(__x86_64__)
#error "rtstacks: x86-64 only"
#endif

#define NLEAF   8
#define NMID    8
#define NDEPTH  4
#define NMOD    4
#define REPEAT  2
#define NSYS    512

/* ------------------------------------------------------------ the syscall gate */

/* rtstacks_gate(nr, a1..a6): the one syscall instruction the filter lets through. */
long rtstacks_gate(long nr, long a, long b, long c, long d, long e, long f);
extern const char rtstacks_gate_end[];
__asm__(".text\n"
	".globl rtstacks_gate\n"
	".type rtstacks_gate, @function\n"
	"rtstacks_gate:\n"
	"\tmovq %rdi, %rax\n"
	"\tmovq %rsi, %rdi\n"
	"\tmovq %rdx, %rsi\n"
	"\tmovq %rcx, %rdx\n"
	"\tmovq %r8, %r10\n"
	"\tmovq %r9, %r8\n"
	"\tmovq 8(%rsp), %r9\n"
	"\tsyscall\n"
	".globl rtstacks_gate_end\n"
	"rtstacks_gate_end:\n"
	"\tret\n"
	".size rtstacks_gate, .-rtstacks_gate\n");

static volatile int counting;            /* the region runs: count trapped syscalls */
static unsigned long sys_count[NSYS];    /* by number (NSYS - 1: any larger number) */

/* rt_sigprocmask on the interrupted context's mask (restored by sigreturn), never
 * blocking SIGSYS: a trap while it is blocked would kill the process. */
static long emulate_sigmask(ucontext_t *uc)
{
	greg_t *g = uc->uc_mcontext.gregs;
	const uint64_t *set = (const uint64_t *)g[REG_RSI];
	uint64_t *old = (uint64_t *)g[REG_RDX];
	uint64_t *cur = (uint64_t *)&uc->uc_sigmask;
	uint64_t was = *cur;
	if (set) {
		uint64_t s = *set;
		switch ((int)g[REG_RDI]) {
		case SIG_BLOCK: *cur |= s; break;
		case SIG_UNBLOCK: *cur &= ~s; break;
		case SIG_SETMASK: *cur = s; break;
		default: return -EINVAL;
		}
		*cur &= ~(1ull << (SIGSYS - 1));
	}
	if (old)
		*old = was;
	return 0;
}

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	ucontext_t *uc = (ucontext_t *)ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	int nr = si->si_syscall;
	if (counting)
		__atomic_add_fetch(&sys_count[nr >= 0 && nr < NSYS ? nr : NSYS - 1], 1, __ATOMIC_RELAXED);
	if (nr == SYS_rt_sigprocmask)
		g[REG_RAX] = emulate_sigmask(uc);
	else
		g[REG_RAX] = rtstacks_gate(nr, g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10],
					   g[REG_R8], g[REG_R9]);
}

/* Trap every syscall of the calling thread except rt_sigreturn and the gate's. */
static int install_filter(void)
{
	uint64_t ip = (uint64_t)(uintptr_t)rtstacks_gate_end;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigreturn, 4, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)ip, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(ip >> 32), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

/* ------------------------------------------------------------ the chains */

static pthread_mutex_t mtx[3] = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
};
static void *volatile keep_p, *volatile keep_q;

/* What leaf_J does, so that main can write the expectations. */
#define SIZE_A(j)  (24 + 40 * (size_t)(j))     /* malloc */
#define SIZE_B(j)  (8 + 16 * (size_t)(j))      /* calloc(2, SIZE_B) */
#define SIZE_C(j)  (100 + 64 * (size_t)(j))    /* realloc of the malloc'ed block */
#define LOCKS(j)   (1 + (j) % 3)
#define MOD_SIZE(k) (32 + 8 * (size_t)(k))

#define LEAF(j) \
	NOINLINE void leaf_##j(void) \
	{ \
		keep_p = malloc(SIZE_A(j)); \
		keep_q = calloc(2, SIZE_B(j)); \
		keep_p = realloc(keep_p, SIZE_C(j)); \
		for (int i = 0; i < LOCKS(j); i++) { \
			pthread_mutex_lock(&mtx[(j) % 3]); \
			pthread_mutex_unlock(&mtx[(j) % 3]); \
		} \
		free(keep_q); \
		free(keep_p); \
	}
LEAF(0) LEAF(1) LEAF(2) LEAF(3) LEAF(4) LEAF(5) LEAF(6) LEAF(7)

/* One call site per leaf in every mid: distinct return addresses. */
#define MID(i) \
	NOINLINE void mid_##i(int j) \
	{ \
		switch (j) { \
		case 0: leaf_0(); break; \
		case 1: leaf_1(); break; \
		case 2: leaf_2(); break; \
		case 3: leaf_3(); break; \
		case 4: leaf_4(); break; \
		case 5: leaf_5(); break; \
		case 6: leaf_6(); break; \
		default: leaf_7(); break; \
		} \
	}
MID(0) MID(1) MID(2) MID(3) MID(4) MID(5) MID(6) MID(7)
static void (*const mids[NMID])(int) = { mid_0, mid_1, mid_2, mid_3, mid_4, mid_5, mid_6, mid_7 };

static volatile int sink;

NOINLINE void rec(int d, int i, int j)
{
	if (d > 0)
		rec(d - 1, i, j);
	else
		mids[i](j);
	sink++;
}

static int (*rtmod_run)(int k, size_t size);

NOINLINE void rec_mod(int d, int k)
{
	if (d > 0)
		rec_mod(d - 1, k);
	else
		sink += rtmod_run(k, MOD_SIZE(k));
	sink++;
}

NOINLINE void run_chains(void)
{
	for (int r = 0; r < REPEAT; r++) {
		for (int d = 0; d < NDEPTH; d++)
			for (int i = 0; i < NMID; i++)
				for (int j = 0; j < NLEAF; j++)
					rec(d, i, j);
		if (rtmod_run)
			for (int d = 0; d < NDEPTH; d++)
				for (int k = 0; k < NMOD; k++)
					rec_mod(d, k);
	}
}

/* ------------------------------------------------------------ the thread */

static void (*lockcount_region)(int on);
static int filter_rc, filter_errno;

/* Everything the region will need, done once outside it on this thread: glibc's
 * arena and tcache for the thread and a top pad that the region's blocks fit in, the
 * PLT entries, the profiler's per-thread state and the region's first entry. */
NOINLINE static void warm_up(void)
{
	void *big = malloc(4u << 20);
	PROG_CHECK(big != NULL, "malloc 4 MiB");
	memset(big, 1, 4u << 20);
	free(big);
	void *q = calloc(2, 64);
	void *p = realloc(malloc(16), 4000);
	free(q);
	free(p);
	for (int i = 0; i < 3; i++) {
		pthread_mutex_lock(&mtx[i]);
		pthread_mutex_unlock(&mtx[i]);
	}
	AUDIOPROF_RT_ENTER("rtstacks");
	AUDIOPROF_RT_EXIT();
}

static void *arena_warmer(void *arg)
{
	void *big = malloc(4u << 20);
	PROG_CHECK(big != NULL, "malloc 4 MiB");
	memset(big, 1, 4u << 20);
	free(big);
	void *q = calloc(2, 64);
	void *p = realloc(malloc(16), 4000);
	free(q);
	free(p);
	pthread_mutex_lock(&mtx[0]);
	pthread_mutex_unlock(&mtx[0]);
	return arg;
}

/* RTSTACKS_COLD set: the thread makes its very first allocation, lock and region
 * entry inside the region (its profiler state must already be there, made when the
 * thread started); a thread that ran before warms glibc up instead, and leaves
 * the thread on an arena another thread warmed up and left (a new arena is an mmap of
 * glibc's). */
static int cold;

static void *rt_main(void *arg)
{
	if (!cold)
		warm_up();
	filter_rc = install_filter();
	if (filter_rc != 0) {
		filter_errno = errno;
		return arg;
	}
	counting = 1;
	if (lockcount_region)
		lockcount_region(1);
	AUDIOPROF_RT_ENTER("rtstacks");
	run_chains();
	AUDIOPROF_RT_EXIT();
	if (lockcount_region)
		lockcount_region(0);
	counting = 0;
	return arg;
}

/* ------------------------------------------------------------ expectations */

static void write_expectations(FILE *f)
{
	unsigned long allocs = 0, frees = 0, bytes = 0, locks = 0;
	char chain[512];
	for (int d = 0; d < NDEPTH; d++) {
		for (int i = 0; i < NMID; i++) {
			for (int j = 0; j < NLEAF; j++) {
				int n = snprintf(chain, sizeof chain, "leaf_%d,mid_%d", j, i);
				for (int k = 0; k <= d; k++)
					n += snprintf(chain + n, sizeof chain - (size_t)n, ",rec");
				snprintf(chain + n, sizeof chain - (size_t)n, ",run_chains,rt_main");
				fprintf(f, "expect malloc %d %zu %s\n", REPEAT, REPEAT * SIZE_A(j), chain);
				fprintf(f, "expect calloc %d %zu %s\n", REPEAT, REPEAT * 2 * SIZE_B(j), chain);
				fprintf(f, "expect realloc %d %zu %s\n", REPEAT, REPEAT * SIZE_C(j), chain);
				fprintf(f, "expect free %d 0 %s\n", 2 * REPEAT, chain);
				fprintf(f, "expect pthread_mutex_lock %d 0 %s\n", REPEAT * LOCKS(j), chain);
				allocs += 3 * REPEAT;
				frees += 2 * REPEAT;
				bytes += REPEAT * (SIZE_A(j) + 2 * SIZE_B(j) + SIZE_C(j));
				locks += REPEAT * LOCKS(j);
			}
		}
	}
	for (int d = 0; rtmod_run && d < NDEPTH; d++) {
		for (int k = 0; k < NMOD; k++) {
			int n = snprintf(chain, sizeof chain, "rtmod_site_%d,rtmod_run", k);
			for (int e = 0; e <= d; e++)
				n += snprintf(chain + n, sizeof chain - (size_t)n, ",rec_mod");
			snprintf(chain + n, sizeof chain - (size_t)n, ",run_chains,rt_main");
			fprintf(f, "expect malloc %d %zu %s\n", REPEAT, REPEAT * MOD_SIZE(k), chain);
			fprintf(f, "expect free %d 0 %s\n", REPEAT, chain);
			allocs += REPEAT;
			frees += REPEAT;
			bytes += REPEAT * MOD_SIZE(k);
		}
	}
	fprintf(f, "totals allocs %lu frees %lu bytes %lu locks %lu\n", allocs, frees, bytes, locks);
	printf("rtstacks: allocs %lu frees %lu bytes %lu locks %lu\n", allocs, frees, bytes, locks);
}

int main(int argc, char **argv)
{
	PROG_CHECK(argc >= 2, "usage: rtstacks OUT-FILE [librtmod.so]");
	char path[PATH_MAX];
	if (argc > 2) {
		snprintf(path, sizeof path, "%s", argv[2]);
	} else {
		ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
		PROG_CHECK(n > 0, "readlink /proc/self/exe");
		path[n] = 0;
		char *slash = strrchr(path, '/');
		strcpy(slash ? slash + 1 : path, "librtmod.so");
	}
	void *mod = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	PROG_CHECK(mod != NULL, "dlopen librtmod.so");
	*(void **)&rtmod_run = dlsym(mod, "rtmod_run");
	PROG_CHECK(rtmod_run != NULL, "dlsym rtmod_run");
	*(void **)&lockcount_region = dlsym(RTLD_DEFAULT, "lockcount_region");

	/* No brk, mmap, munmap or madvise for the region's blocks. */
	mallopt(M_MMAP_THRESHOLD, 16 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_TOP_PAD, 16 << 20);
	cold = getenv("RTSTACKS_COLD") != NULL;
	if (cold) {
		/* A thread that warms an arena up and exits: glibc hands that arena to
		 * the next new thread's first malloc, with no mmap of its own. */
		pthread_t w;
		PROG_CHECK(pthread_create(&w, NULL, arena_warmer, NULL) == 0, "pthread_create");
		PROG_CHECK(pthread_join(w, NULL) == 0, "pthread_join");
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	PROG_CHECK(sigaction(SIGSYS, &sa, NULL) == 0, "sigaction SIGSYS");

	pthread_t t;
	PROG_CHECK(pthread_create(&t, NULL, rt_main, NULL) == 0, "pthread_create");
	PROG_CHECK(pthread_join(t, NULL) == 0, "pthread_join");

	FILE *f = fopen(argv[1], "w");
	PROG_CHECK(f != NULL, "fopen OUT-FILE");
	if (filter_rc != 0) {
		fprintf(f, "seccomp unavailable: %s\n", strerror(filter_errno));
	} else {
		write_expectations(f);
		unsigned long total = 0;
		for (int i = 0; i < NSYS; i++)
			total += sys_count[i];
		fprintf(f, "syscalls %lu\n", total);
		for (int i = 0; i < NSYS; i++)
			if (sys_count[i])
				fprintf(f, "syscall %d %lu\n", i, sys_count[i]);
	}
	PROG_CHECK(fclose(f) == 0, "fclose OUT-FILE");
	return 0;
}
