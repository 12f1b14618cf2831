/* test_docs.c: docs/assembly.md's instruction table says exactly what vm/opcodes.h says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"
#include "tests/unit/unit.h"

#define DOC "docs/assembly.md"
#define NCOLS 7 /* code, mnemonic, operand, pops, pushes, flow, what it does */

static const char *kind_word(int kind)
{
	static const char *const w[] = { "none", "imm", "const", "local", "func", "label", "extern" };
	return kind >= 0 && kind <= OPND_EXTERN ? w[kind] : "?";
}

static const char *flow_word(int flags)
{
	return flags & OPF_TERM ? "ends" : flags & OPF_BRANCH ? "branch" : "";
}

static void effect_word(int n, char *out, size_t size)
{
	if (n == VAR)
		snprintf(out, size, "n");
	else
		snprintf(out, size, "%d", n);
}

/* Split one table row "| a | b \| c | ... |" into trimmed cells, with "\|"
 * turned back into "|".  Returns the number of cells. */
static int split_row(const char *line, char cells[][160], int max)
{
	int n = 0;
	const char *s = line + 1; /* after the first '|' */
	while (*s && *s != '\n' && n < max) {
		char *o = cells[n];
		size_t k = 0;
		while (*s && *s != '\n' && *s != '|') {
			if (s[0] == '\\' && s[1] == '|')
				s++;
			if (k < 159)
				o[k++] = *s;
			s++;
		}
		if (*s != '|')
			break; /* text after the last '|' is not a cell */
		s++;
		while (k > 0 && o[k - 1] == ' ')
			k--;
		o[k] = 0;
		size_t lead = strspn(o, " ");
		memmove(o, o + lead, k - lead + 1);
		n++;
	}
	return n;
}

static void test_instruction_table(void)
{
	char *doc = unit_slurp(DOC, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	char *sec = strstr(doc, "\n## Instructions\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sec);
	char *row = strstr(sec, "\n| code | mnemonic | operand | pops | pushes | flow | what it does |\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(row);
	row = strchr(row + 1, '\n') + 1; /* the separator row */
	row = strchr(row, '\n') + 1;

	int seen[OP__LIMIT] = { 0 };
	int rows = 0;
	for (; row[0] == '|'; row = strchr(row, '\n') + 1, rows++) {
		char cells[NCOLS + 1][160];
		int n = split_row(row, cells, NCOLS + 1);
		CU_ASSERT_EQUAL(n, NCOLS);
		if (n != NCOLS)
			continue;
		char *end;
		long code = strtol(cells[0], &end, 16);
		CU_ASSERT(*end == 0 && code >= 0 && code < OP__LIMIT);
		if (*end || code < 0 || code >= OP__LIMIT)
			continue;
		const vm_opinfo *op = &vm_ops[code];
		CU_ASSERT_PTR_NOT_NULL(op->mnemonic);
		if (!op->mnemonic)
			continue;
		seen[code]++;
		char want[160], pops[16], pushes[16];
		snprintf(want, sizeof want, "`%s`", op->mnemonic);
		effect_word(op->pops, pops, sizeof pops);
		effect_word(op->pushes, pushes, sizeof pushes);
		if (strcmp(cells[1], want) || strcmp(cells[2], kind_word(op->operand)) ||
		    strcmp(cells[3], pops) || strcmp(cells[4], pushes) ||
		    strcmp(cells[5], flow_word(op->flags)) || strcmp(cells[6], op->doc))
			printf("\n  %s row for 0x%02lx differs from opcodes.h: %.*s\n", DOC, code,
			       (int)(strchr(row, '\n') - row), row);
		CU_ASSERT_STRING_EQUAL(cells[1], want);
		CU_ASSERT_STRING_EQUAL(cells[2], kind_word(op->operand));
		CU_ASSERT_STRING_EQUAL(cells[3], pops);
		CU_ASSERT_STRING_EQUAL(cells[4], pushes);
		CU_ASSERT_STRING_EQUAL(cells[5], flow_word(op->flags));
		CU_ASSERT_STRING_EQUAL(cells[6], op->doc);
	}
	int defined = 0;
	for (int code = 0; code < OP__LIMIT; code++) {
		if (!vm_ops[code].mnemonic)
			continue;
		defined++;
		if (seen[code] != 1)
			printf("\n  %s lists %s %d times, want once\n", DOC, vm_ops[code].mnemonic, seen[code]);
		CU_ASSERT_EQUAL(seen[code], 1);
	}
	CU_ASSERT_EQUAL(rows, defined);
	free(doc);
}

/* The splitter itself: escaped bars, trimming, and a row that is too short. */
static void test_split_row(void)
{
	char cells[8][160];
	CU_ASSERT_EQUAL(split_row("| 0x21 | `or` | a \\| b |\n", cells, 8), 3);
	CU_ASSERT_STRING_EQUAL(cells[0], "0x21");
	CU_ASSERT_STRING_EQUAL(cells[1], "`or`");
	CU_ASSERT_STRING_EQUAL(cells[2], "a | b");
	CU_ASSERT_EQUAL(split_row("|  | x\n", cells, 8), 1);
	CU_ASSERT_STRING_EQUAL(cells[0], "");
}

int main(void)
{
	return unit_run("docs", NULL, NULL, (const unit_test[]){
		{"split_row", test_split_row},
		{"instruction table matches opcodes.h", test_instruction_table},
		{NULL, NULL}});
}
