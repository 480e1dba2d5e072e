/* mem.h - how much of a mapping the profiler made is really in memory (mincore(2)),
 * for the profile's own-footprint figure: tables are reserved large and touched
 * sparsely, so their size says little. Writer-side only (a syscall per call). */
#ifndef AUDIOPROF_MEM_H
#define AUDIOPROF_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static inline size_t mem_resident(const void *p, size_t len)
{
	if (!p || !len)
		return 0;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)p & ~(page - 1);
	size_t pages = ((uintptr_t)p + len - start + page - 1) / page, n = 0;
	unsigned char vec[4096];
	for (size_t done = 0; done < pages; done += sizeof(vec)) {
		size_t k = pages - done < sizeof(vec) ? pages - done : sizeof(vec);
		if (mincore((void *)(start + done * page), k * page, vec) != 0)
			return len;   /* cannot tell: count it all */
		for (size_t i = 0; i < k; i++)
			n += vec[i] & 1;
	}
	return n * page;
}

/* Which pages of a sparse table are in memory, for a scan that reads only those: a
 * page never written holds no entry (all zeros), and reading it would map the zero
 * page (a page-table entry that fork copies) or, in a forked child whose table was
 * wiped (forkmem.h), take a fault for nothing. A page that comes into memory after it
 * was looked at holds only entries written after the scan began, as if the scan had
 * passed it first. Writer-side: a syscall per 4096 pages, on a stack of its own. */
struct mem_pages {
	uintptr_t first, end;     /* addresses vec[] covers: [first, end) */
	uintptr_t limit;          /* the end of the table's last page */
	size_t page;
	unsigned shift;           /* log2(page): a scan asks once per entry (no division) */
	unsigned char vec[4096];
};

static inline void mem_pages_init(struct mem_pages *m, const void *table, size_t len)
{
	m->page = (size_t)sysconf(_SC_PAGESIZE);
	m->shift = (unsigned)__builtin_ctzl(m->page);
	m->limit = ((uintptr_t)table + len + m->page - 1) & ~(m->page - 1);
	m->first = m->end = 0;
}

/* Whether the byte at p, inside the table, may hold data: its page is in memory, or
 * mincore cannot tell. */
static inline int mem_pages_in(struct mem_pages *m, const void *p)
{
	uintptr_t a = (uintptr_t)p;
	if (a < m->first || a >= m->end) {
		m->first = a & ~(m->page - 1);
		m->end = m->first + sizeof(m->vec) * m->page;
		if (m->end > m->limit || m->end < m->first)
			m->end = m->limit;
		if (mincore((void *)m->first, m->end - m->first, m->vec) != 0)
			memset(m->vec, 1, sizeof(m->vec));
	}
	return m->vec[(a - m->first) >> m->shift] & 1;
}

/* The end of the page that holds p. */
static inline uintptr_t mem_pages_end(const struct mem_pages *m, const void *p)
{
	return ((uintptr_t)p | (m->page - 1)) + 1;
}

#endif
