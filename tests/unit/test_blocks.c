/* test_blocks.c - block headers: our blocks are recognised, foreign ones never are. */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "suites.h"

static void test_roundtrip(void)
{
	char *base = calloc(1, 100 + BLOCK_HDR_SIZE);   /* zeroed: under ASan gcc warns of unset bytes */
	struct site *site = (struct site *)(uintptr_t)0x7000;   /* never dereferenced */
	void *p = blocks_init(base, BLOCK_HDR_SIZE, 100, site, 12345);
	CU_ASSERT_PTR_EQUAL(p, base + BLOCK_HDR_SIZE);
	CU_ASSERT_EQUAL((uintptr_t)p % 16, 0);
	struct block_hdr *h = blocks_lookup(p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(blocks_size(h), 100);
	CU_ASSERT_EQUAL(blocks_offset(h), BLOCK_HDR_SIZE);
	CU_ASSERT_PTR_EQUAL(h->site, site);
	CU_ASSERT_EQUAL(h->birth, 12345);
	CU_ASSERT_PTR_EQUAL(blocks_release(h), base);
	CU_ASSERT_PTR_NULL(blocks_lookup(p));   /* a second free is not taken for ours */
	free(base);
}

static void test_aligned(void)
{
	char *base = aligned_alloc(256, 512);
	void *p = blocks_init(base, 256, 64, NULL, 1);
	CU_ASSERT_EQUAL((uintptr_t)p % 256, 0);
	struct block_hdr *h = blocks_lookup(p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(blocks_offset(h), 256);
	CU_ASSERT_EQUAL(blocks_size(h), 64);
	CU_ASSERT_PTR_EQUAL(blocks_release(h), base);
	free(base);
}

/* Plain glibc blocks of every size class, including mmapped ones. */
static void test_foreign(void)
{
	size_t sizes[] = { 1, 24, 100, 1000, 100000, 1 << 20 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = malloc(sizes[i]);
		memset(p, 0xA7, sizes[i]);
		CU_ASSERT_PTR_NULL(blocks_lookup(p));
		free(p);
	}
}

void suite_blocks(void)
{
	CU_pSuite s = CU_add_suite("blocks", NULL, NULL);
	CU_add_test(s, "header round trip", test_roundtrip);
	CU_add_test(s, "over-aligned block", test_aligned);
	CU_add_test(s, "foreign pointers", test_foreign);
}
