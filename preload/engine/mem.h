/* mem.h - how much of a mapping the profiler made is really in memory (mincore(2)),
 * for the profile's own-footprint figure: tables are reserved large and touched
 * sparsely, so their size says little. Writer-side only (a syscall per call). */
#ifndef AUDIOPROF_MEM_H
#define AUDIOPROF_MEM_H

#include <stddef.h>
#include <stdint.h>
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

#endif
