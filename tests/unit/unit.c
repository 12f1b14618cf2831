/* unit.c: the one CUnit main of greenvm's unit tests (see unit.h). */
#include "tests/unit/unit.h"

int unit_run(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean,
	     const unit_test *tests)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite(name, init, clean);
	for (const unit_test *t = tests; s && t->name; t++)
		CU_add_test(s, t->name, t->fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
