/* run_unit.c - CUnit runner for the engine's unit tests (linked without LD_PRELOAD).
 * Exit status 0 only when every assertion passed. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include "suites.h"

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite_options();
	suite_sites();
	suite_blocks();
	suite_stacks();
	suite_unwind();
	suite_symbols();
	suite_profile();
	suite_symcache();
	suite_demangle();
	suite_glob();
	suite_fds();
	suite_audio();
	suite_timeline();
	suite_cpuprof();
	suite_atomicfile();
	suite_outpath();
	suite_suppress();
	suite_stats();
	suite_rules();
	suite_baseline();
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	unsigned run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	if (run == 0) {
		fprintf(stderr, "run_unit: no test ran\n");
		return 1;
	}
	return failed ? 1 : 0;
}
