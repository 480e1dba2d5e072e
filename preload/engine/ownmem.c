/* ownmem.c - the profiler's own address ranges, and mlockall(2) applied to the
 * program's mappings only (ownmem.h).
 *
 * The kernel's mlockall (mm/mlock.c), which this follows: EINVAL for flags outside
 * MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT, none, or MCL_ONFAULT alone; EPERM when the
 * caller has no CAP_IPC_LOCK and RLIMIT_MEMLOCK is 0; with MCL_CURRENT, ENOMEM when it
 * has no CAP_IPC_LOCK and the address space (total_vm, every mapping, PROT_NONE ones
 * too) exceeds RLIMIT_MEMLOCK; on success, MCL_FUTURE sets the lock for mappings to
 * come (and clears it without), MCL_CURRENT locks every mapping, replacing any earlier
 * lock's on-fault mode, and errors of single mappings are ignored.
 *
 * Here the address space is the program's: the profiler's own ranges are taken out
 * of the sum and of the locking. They are forkmem's (the reservation, which also holds
 * the writer's and symbolizer's stacks, and the tables mapped apart),
 * libaudioprof.so's own segments (2 MB of zeroed static state, most of it never
 * touched), and the heaps of glibc's malloc arenas that the writer and symbolizer
 * threads got (64 MB of address space each, PROT_NONE but for what they use; natively
 * there is no such thread). The libraries the profiler links (libunwind, jansson, and libdw and libelf
 * once loaded) cannot be told apart from the program's and are counted and locked like
 * them: a few MB. */
#include "ownmem.h"
#include "forkmem.h"
#include "under.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/capability.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

#define RANGES_MAX 96

/* This library's ELF header: the linker defines it at the start of the first segment. */
extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

/* glibc's heaps of an arena other than the main one (malloc/arena.c): HEAP_MAX bytes
 * aligned to HEAP_MAX, opening with a heap_info whose first field is the arena; a chunk
 * from such an arena has NON_MAIN_ARENA (4) set in its size field, the word before it. */
#define HEAP_MAX ((uintptr_t)2 * 4 * 1024 * 1024 * sizeof(long))
#define NON_MAIN_ARENA 4
#define ARENAS_MAX 4
static void *arenas[ARENAS_MAX];   /* those of the profiler's threads */

/* MCL_FUTURE was set through ownmem_mlockall: a later MCL_CURRENT without it clears it. */
static int future_set;

/* ------------------------------------------------------------ the profiler's ranges */

/* The profiler's ranges, page-aligned, sorted and merged, in r; their number. */
static size_t own_ranges(uintptr_t (*r)[2])
{
	size_t n = forkmem_ranges(r, RANGES_MAX - 16);
	uintptr_t page = (uintptr_t)getpagesize();
	const ElfW(Ehdr) *eh = &__ehdr_start;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
	uintptr_t bias = 0;
	int first = 1;
	for (int i = 0; i < eh->e_phnum && n < RANGES_MAX; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (first)
			bias = (uintptr_t)eh - (ph[i].p_vaddr & ~(page - 1));
		first = 0;
		r[n][0] = (bias + ph[i].p_vaddr) & ~(page - 1);
		r[n++][1] = (bias + ph[i].p_vaddr + ph[i].p_memsz + page - 1) & ~(page - 1);
	}
	for (size_t i = 1; i < n; i++) {   /* insertion sort: a few dozen at most */
		uintptr_t lo = r[i][0], hi = r[i][1];
		size_t j = i;
		for (; j > 0 && r[j - 1][0] > lo; j--) {
			r[j][0] = r[j - 1][0];
			r[j][1] = r[j - 1][1];
		}
		r[j][0] = lo;
		r[j][1] = hi;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && r[i][0] <= r[m - 1][1]) {
			if (r[i][1] > r[m - 1][1])
				r[m - 1][1] = r[i][1];
		} else {
			r[m][0] = r[i][0];
			r[m++][1] = r[i][1];
		}
	}
	return m;
}

void ownmem_thread_start(void)
{
	if (__atomic_load_n(&under_state, __ATOMIC_RELAXED) != UNDER_LIBC)
		return;
	/* Beyond the thread cache (glibc's tcache: up to 1032 bytes), which may hold blocks
	 * of other arenas that the thread freed: this one comes from the thread's arena. */
	void *p = __libc_malloc(4000);
	if (!p)
		return;
	if (((size_t *)p)[-1] & NON_MAIN_ARENA) {
		void *ar = *(void **)((uintptr_t)p & ~(HEAP_MAX - 1));
		for (int i = 0; i < ARENAS_MAX; i++) {
			void *expect = NULL;
			if (__atomic_load_n(&arenas[i], __ATOMIC_RELAXED) == ar ||
			    __atomic_compare_exchange_n(&arenas[i], &expect, ar, 0,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED))
				break;
		}
	}
	__libc_free(p);
}

void ownmem_fork_child(void)
{
	for (int i = 0; i < ARENAS_MAX; i++)
		arenas[i] = NULL;
}

/* Whether the anonymous readable mapping at lo, HEAP_MAX-aligned, is a heap of one of
 * the profiler's threads' arenas. */
static int own_heap(uintptr_t lo)
{
	void *ar = *(void *const *)lo;
	for (int i = 0; i < ARENAS_MAX; i++)
		if (ar && __atomic_load_n(&arenas[i], __ATOMIC_RELAXED) == ar)
			return 1;
	return 0;
}

/* ------------------------------------------------------------ /proc/self/maps */

/* Calls fn(lo, hi, arg) for each piece of each user mapping outside the n ranges r
 * (sorted, disjoint); returns the bytes of those pieces, or -1 when the maps cannot be
 * read. Parses "lo-hi ..." lines a character at a time from a stack buffer: raw system
 * calls, no allocation, no line length limit. */
static long long walk_program(uintptr_t (*r)[2], size_t n,
			      void (*fn)(uintptr_t, uintptr_t, void *), void *arg)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[4096];
	int state = 0;           /* 0: lo, 1: hi, 2: the rest of the line */
	int field = 0;           /* in state 2: 1 perms, 2 offset, 3 device, 4 inode, 5 path */
	int perms = 0, readable = 0, named = 0;   /* characters of the permissions seen */
	uintptr_t lo = 0, hi = 0, heap_end = 0;
	long long total = 0;
	for (;;) {
		long got = syscall(SYS_read, fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got < 0)
				total = -1;
			break;
		}
		for (long i = 0; i < got; i++) {
			char c = buf[i];
			if (state < 2) {
				int v = c >= '0' && c <= '9' ? c - '0' :
					c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
				if (v >= 0) {
					if (state == 0)
						lo = lo << 4 | (uintptr_t)v;
					else
						hi = hi << 4 | (uintptr_t)v;
					continue;
				}
				if (state == 0 && c == '-') {
					state = 1;
					continue;
				}
				state = 2;
				field = 1;
				continue;   /* the space before the permissions */
			}
			if (c == ' ') {
				if (field < 5)
					field++;
				continue;
			}
			if (c != '\n') {
				if (field == 1 && !perms++)
					readable = c == 'r';
				if ((field == 4 && c != '0') || field == 5)
					named = 1;
				continue;
			}
			/* One mapping [lo, hi); the kernel's own ([vsyscall]) is no mapping of
			 * the process (not in total_vm). */
			if (hi > lo && !(lo >> 63)) {
				if (readable && !named && !(lo & (HEAP_MAX - 1)) && own_heap(lo))
					heap_end = lo + HEAP_MAX;
				uintptr_t cur = lo < heap_end ? (hi < heap_end ? hi : heap_end) : lo;
				for (size_t k = 0; k < n && r[k][0] < hi; k++) {
					if (r[k][1] <= cur)
						continue;
					if (r[k][0] > cur) {
						total += (long long)(r[k][0] - cur);
						if (fn)
							fn(cur, r[k][0], arg);
					}
					cur = r[k][1] < hi ? r[k][1] : hi;
				}
				if (cur < hi) {
					total += (long long)(hi - cur);
					if (fn)
						fn(cur, hi, arg);
				}
			}
			state = field = perms = readable = named = 0;
			lo = hi = 0;
		}
	}
	syscall(SYS_close, fd);
	return total;
}

static void lock_piece(uintptr_t lo, uintptr_t hi, void *arg)
{
	/* Errors ignored, as the kernel's mlockall ignores them (a PROT_NONE range is
	 * locked but cannot be filled: ENOMEM). */
	unsigned mode = *(unsigned *)arg;
	if (syscall(SYS_mlock2, lo, hi - lo, mode) != 0 && errno == ENOSYS && !mode)
		syscall(SYS_mlock, lo, hi - lo);   /* a kernel before 4.4: no MCL_ONFAULT either */
}

/* ------------------------------------------------------------ mlockall */

/* Whether the thread has CAP_IPC_LOCK in its effective set. */
static int can_lock_any(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) != 0)
		return 0;
	return (d[CAP_IPC_LOCK / 32].effective >> (CAP_IPC_LOCK % 32)) & 1;
}

int ownmem_mlockall(int flags, int (*real_mlockall)(int), int (*real_munlockall)(void))
{
	if (!flags || (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) ||
	    flags == MCL_ONFAULT) {
		errno = EINVAL;
		return -1;
	}
	if (!(flags & MCL_CURRENT)) {
		/* The future only: the kernel's own checks and effect. Our tables are made
		 * unlocked (forkmem.c) from the reservation, which must exist first (made
		 * afterwards, it would be locked: refused beyond the limit). */
		int saved = errno;
		forkmem_reserve();
		errno = saved;
		int ret = real_mlockall(flags);
		if (ret == 0)
			__atomic_store_n(&future_set, 1, __ATOMIC_RELAXED);
		return ret;
	}
	int saved = errno;   /* untouched on success, as natively */
	int cap = can_lock_any();
	struct rlimit rl;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		rl.rlim_cur = RLIM_INFINITY;
	if (!cap && rl.rlim_cur == 0) {
		errno = EPERM;
		return -1;
	}
	uintptr_t r[RANGES_MAX][2];
	size_t n = own_ranges(r);
	if (!cap && rl.rlim_cur != RLIM_INFINITY) {
		long long size = walk_program(r, n, NULL, NULL);
		size_t page = (size_t)getpagesize();
		if (size >= 0 && (unsigned long long)size / page > rl.rlim_cur / page) {
			errno = ENOMEM;
			return -1;
		}
	}
	if (flags & MCL_FUTURE) {
		forkmem_reserve();
		errno = saved;
		if (real_mlockall(flags & (MCL_FUTURE | MCL_ONFAULT)) != 0)
			return -1;   /* not expected once the checks above passed */
		__atomic_store_n(&future_set, 1, __ATOMIC_RELAXED);
	} else if (__atomic_exchange_n(&future_set, 0, __ATOMIC_RELAXED)) {
		/* The kernel clears the lock of future mappings; only munlockall does that
		 * alone, and it unlocks every mapping, which the walk below locks again. */
		real_munlockall();
	}
	unsigned mode = (flags & MCL_ONFAULT) ? MLOCK_ONFAULT : 0;
	walk_program(r, n, lock_piece, &mode);
	errno = saved;
	return 0;
}
