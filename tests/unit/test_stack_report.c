/* test_stack_report.c: runs tests/stackrep/stack_report.py on the fixture in tests/stackrep/fixture/ and checks its findings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "gc/common.h"
#include "tests/unit/unit.h"

/* A fresh folder for one run of the script (mkdtemp's). */
static char dir[64];

/* Run the report on the fixture with a g0 of sysstack bytes; its exit status. */
static int run_report(int sysstack)
{
	char cmd[512];
	strcpy(dir, "/tmp/stackrep.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(cmd, sizeof cmd,
		 "python3 tests/stackrep/stack_report.py --root tests/stackrep/fixture --src . --compile "
		 "--build %s/obj --json %s/report.json --sysstack %d >%s/out.txt 2>&1",
		 dir, dir, sysstack, dir);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The frame GCC wrote into the fixture's unit.su (work, nest, ss) for
 * function name, or -1. */
static long su_frame_in(const char *unit, const char *name)
{
	char path[128], pat[64];
	snprintf(path, sizeof path, "%s/obj/%s.su", dir, unit);
	snprintf(pat, sizeof pat, ":%s\t", name);
	char *su = slurp_file(path, NULL);
	if (!su)
		return -1;
	char *p = strstr(su, pat);
	long v = p ? strtol(p + strlen(pat), NULL, 10) : -1;
	free(su);
	return v;
}

static long su_frame(const char *name)
{
	return su_frame_in("work", name);
}

/* The JSON object of entry name in the run's report.json (a copy: free it), or NULL. */
static char *entry_json(const char *name)
{
	char path[128], pat[96];
	snprintf(path, sizeof path, "%s/report.json", dir);
	snprintf(pat, sizeof pat, "{\"entry\": \"%s\"", name);
	char *json = slurp_file(path, NULL);
	if (!json)
		return NULL;
	char *e = strstr(json, pat);
	char *end = e ? strchr(e, '\n') : NULL;
	if (end)
		*end = 0;
	char *copy = e ? strdup(e) : NULL;
	free(json);
	return copy;
}

static void cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* The deepest chain is fix_entry -> mid -> leaf_big, and the worst case is
 * the sum of their frames as GCC reported them. */
static void test_worst_case_and_chain(void)
{
	CU_ASSERT_EQUAL_FATAL(run_report(16384), 0);
	char path[128];
	snprintf(path, sizeof path, "%s/report.json", dir);
	char *json = slurp_file(path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	char *e = strstr(json, "{\"entry\": \"fix_entry\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	char *w = strstr(e, "\"worst_case_bytes\": ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	long worst = strtol(w + strlen("\"worst_case_bytes\": "), NULL, 10);
	long sum = su_frame("fix_entry") + su_frame("mid") + su_frame("leaf_big");
	CU_ASSERT(su_frame("leaf_big") > 2048); /* the 3000-byte array */
	CU_ASSERT_EQUAL(worst, sum);
	char *c = strstr(e, "\"chain\": [");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	char *c1 = strstr(c, "{\"function\": \"fix_entry\"");
	char *c2 = c1 ? strstr(c1, "{\"function\": \"mid\"") : NULL;
	char *c3 = c2 ? strstr(c2, "{\"function\": \"leaf_big\"") : NULL;
	CU_ASSERT_PTR_NOT_NULL(c3);
	CU_ASSERT_PTR_NULL(strstr(c, "leaf_small")); /* not on the deepest chain */
	free(json);
	snprintf(path, sizeof path, "%s/out.txt", dir);
	char *out = slurp_file(path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "verdict: every entry fits"));
	free(out);
	cleanup();
}

/* Nested systemstack calls each run the function passed at their own call
 * site: outer_on_g0 -> systemstack(middle_on_g0) -> systemstack(inner_on_g0),
 * the second through on_g0_again's parameter.  Taking the nested fn for the
 * outermost entry found a cycle through middle_on_g0 (unbounded: FAIL). */
static void test_nested_systemstack(void)
{
	CU_ASSERT_EQUAL_FATAL(run_report(16384), 0);
	char *e = entry_json("outer_on_g0");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	char *w = strstr(e, "\"worst_case_bytes\": ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	long worst = strtol(w + strlen("\"worst_case_bytes\": "), NULL, 10);
	/* every frame once, the two switches' twice */
	long sum = su_frame_in("nest", "outer_on_g0") + su_frame_in("nest", "middle_on_g0") +
		   su_frame_in("nest", "on_g0_again") + su_frame_in("nest", "inner_on_g0") +
		   2 * su_frame_in("nest", "nest_systemstack") + 2 * su_frame_in("ss", "systemstack");
	CU_ASSERT(su_frame_in("nest", "outer_on_g0") >= 400);
	CU_ASSERT_EQUAL(worst, sum);
	/* the chain, outermost first: outer, middle, inner, in that order */
	char *c = strstr(e, "\"chain\": [");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	char *c1 = strstr(c, "{\"function\": \"outer_on_g0\"");
	char *c2 = c1 ? strstr(c1, "{\"function\": \"middle_on_g0\"") : NULL;
	char *c3 = c2 ? strstr(c2, "{\"function\": \"on_g0_again\"") : NULL;
	char *c4 = c3 ? strstr(c3, "{\"function\": \"inner_on_g0\"") : NULL;
	CU_ASSERT_PTR_NOT_NULL(c4);
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "\"unbounded\": []"));
	CU_ASSERT_PTR_NULL(strstr(e, "recursion"));
	free(e);
	char path[128];
	snprintf(path, sizeof path, "%s/out.txt", dir);
	char *out = slurp_file(path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "`fn` in systemstack (ss.c:7): the function passed on this path: inner_on_g0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "`fn` in systemstack (ss.c:7): the function passed on this path: middle_on_g0"));
	CU_ASSERT_PTR_NULL(strstr(out, "UNBOUNDED"));
	free(out);
	cleanup();
}

/* With a g0 smaller than the worst case plus the reserve, the verdict fails. */
static void test_verdict_fails(void)
{
	CU_ASSERT_EQUAL_FATAL(run_report(6144), 1);
	char path[128];
	snprintf(path, sizeof path, "%s/out.txt", dir);
	char *out = slurp_file(path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "DOES NOT FIT"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "verdict: FAIL: fix_entry"));
	free(out);
	cleanup();
}

int main(void)
{
	return unit_run("stack_report", NULL, NULL, (const unit_test[]){
		{"worst case and chain of the fixture", test_worst_case_and_chain},
		{"nested systemstack runs its own fn", test_nested_systemstack},
		{"verdict fails over the g0 size", test_verdict_fails},
		{NULL, NULL}});
}
