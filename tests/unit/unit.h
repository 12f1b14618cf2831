/* unit.h: the one CUnit main of greenvm's unit tests (tests/unit/unit.c).
 *
 * Each tests/unit/test_*.c is one program with one suite; its main does
 * what set-up it needs and returns unit_run(...) with its list of tests:
 *
 *	return unit_run("gbc", NULL, NULL, (const unit_test[]){
 *		{"round trip", test_round_trip},
 *		{NULL, NULL}});
 */
#ifndef GREENVM_TESTS_UNIT_H
#define GREENVM_TESTS_UNIT_H

#include <CUnit/Basic.h>

/* One test: its name as CUnit prints it, and its function. */
typedef struct unit_test {
	const char *name;
	CU_TestFunc fn;
} unit_test;

/* Run the suite `name` (init and clean may be NULL) made of tests[], which
 * ends with {NULL, NULL}, printing CUnit's verbose report and summary.
 * Returns main's exit status: 0 when every test passed, 1 otherwise. */
int unit_run(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean,
	     const unit_test *tests);

#endif
