/* test_docs.c: the docs say what the code says: docs/assembly.md's
 * instruction table is vm/opcodes.h's, and every file and function the
 * README and docs/ cite exists. */
#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gc/gc.h"
#include "vm/vm.h"
#include "gc/common.h"
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
	char *doc = slurp_file(DOC, NULL);
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

/* ---- the files and functions the docs cite ----------------------------- */

/* What the docs cite is checked against the tree: the README and every
 * page of docs/, outside ``` blocks, each `span` in backquotes that is
 *
 *   - a path (a slash, no blank or wildcard, a source or page name or a
 *     folder) under one of the tree's top-level folders: it must exist;
 *   - a name with "()" (`schedule()`): a function or macro defined or
 *     declared at the top level of a source file must have it;
 *   - a lower-case name with an underscore (`trace_tool_main`): some
 *     source file must hold it as a word.
 *
 * Paths relative to another folder (`fixture/nest.c`) and Go's names are
 * not under a top-level folder of ours or not lower-case: not checked.
 * The headers' comments are checked for the paths they name too. */

static const char *const top_dirs[] = { "vm", "scheduler", "gc", "trace", "tests",
					"programs", "docs", "bench", ".ci", NULL };
static const char *const source_dirs[] = { "vm", "scheduler", "gc", "trace", "tests", NULL };

/* Every source file's text, one after another. */
static char *sources;
static size_t nsources, cap_sources;

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool is_source(const char *name)
{
	static const char *const ext[] = { ".c", ".h", ".S", ".py", ".sh", ".bash", NULL };
	for (int i = 0; ext[i]; i++)
		if (has_suffix(name, ext[i]))
			return true;
	return false;
}

static void add_sources(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			add_sources(path);
			continue;
		}
		size_t len;
		char *text = is_source(e->d_name) ? slurp_file(path, &len) : NULL;
		if (!text)
			continue;
		while (nsources + len + 2 > cap_sources)
			sources = xrealloc(sources, cap_sources = cap_sources ? cap_sources * 2 : 1 << 20);
		memcpy(sources + nsources, text, len);
		nsources += len;
		sources[nsources++] = '\n';
		sources[nsources] = 0;
		free(text);
	}
	closedir(d);
}

static bool ident_char(int c)
{
	return isalnum(c) || c == '_';
}

/* name (n bytes) stands in the sources as a whole word; with `defined`, as
 * a definition or declaration: at the top level of a line that starts in
 * column 0 with neither a comment nor white space, followed by '(' (a C
 * function or prototype, a Python def, a shell function), or after
 * "#define ", or as an assembly label "name:". */
static bool in_sources(const char *name, size_t n, bool defined)
{
	for (const char *p = sources; (p = strstr(p, name)); p++) {
		if ((p > sources && ident_char(p[-1])) || ident_char(p[n]) ||
		    strncmp(p, name, n) != 0)
			continue;
		if (!defined)
			return true;
		const char *line = p;
		while (line > sources && line[-1] != '\n')
			line--;
		if (line + 8 <= p && strncmp(line, "#define ", 8) == 0 && line + 8 == p)
			return true;
		if (line == p && p[n] == ':')
			return true;
		if (p[n] == '(' && !strchr(" \t*/#", line[0]))
			return true;
		if (p[n] == '(' && strncmp(line, "def ", 4) == 0)
			return true;
	}
	return false;
}

/* A path under one of our top-level folders. */
static bool ours(const char *path)
{
	for (int i = 0; top_dirs[i]; i++) {
		size_t k = strlen(top_dirs[i]);
		if (strncmp(path, top_dirs[i], k) == 0 && path[k] == '/')
			return true;
	}
	return false;
}

static bool looks_like_path(const char *s)
{
	static const char *const ext[] = { ".c", ".h", ".S", ".py", ".sh", ".bash", ".md", ".gasm",
					   ".go", ".html", ".css", ".js", "/", NULL };
	if (!strchr(s, '/') || strpbrk(s, " *?<>"))
		return false;
	for (int i = 0; ext[i]; i++)
		if (has_suffix(s, ext[i]))
			return true;
	return false;
}

/* Check every span of one page; returns how many citations were checked. */
static int check_page(const char *page)
{
	char *text = slurp_file(page, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	int checked = 0;
	bool fence = false;
	for (char *line = text, *next; *line; line = next) {
		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (strncmp(line, "```", 3) == 0) {
			fence = !fence;
			continue;
		}
		if (fence)
			continue;
		for (char *a = line; (a = memchr(a, '`', (size_t)(next - a))); ) {
			char *b = memchr(a + 1, '`', (size_t)(next - a - 1));
			if (!b)
				break;
			char span[256];
			size_t n = (size_t)(b - a - 1);
			a = b + 1;
			if (n == 0 || n >= sizeof span)
				continue;
			memcpy(span, b - n, n);
			span[n] = 0;
			bool ok = true;
			if (looks_like_path(span)) {
				if (!ours(span))
					continue;
				struct stat st;
				ok = stat(span, &st) == 0;
			} else {
				size_t k = strspn(span, "abcdefghijklmnopqrstuvwxyz0123456789_");
				bool call = k == n - 2 && strcmp(span + k, "()") == 0;
				if (k == 0 || (k != n && !call) || (!call && !strchr(span, '_')) ||
				    !strpbrk(span, "abcdefghijklmnopqrstuvwxyz"))
					continue;
				char name[256];
				memcpy(name, span, k);
				name[k] = 0;
				ok = in_sources(name, k, call);
			}
			checked++;
			if (!ok)
				printf("\n  %s cites `%s`, which %s\n", page, span,
				       looks_like_path(span) ? "does not exist" : "no source defines");
			CU_ASSERT(ok);
		}
	}
	free(text);
	return checked;
}

/* The paths a header's comments name (plain "trace/tools/tools.c", no
 * backquotes): each under one of our folders must exist. */
static int check_header_paths(const char *dir)
{
	int checked = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		struct stat st;
		if (e->d_name[0] == '.' || stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			checked += check_header_paths(path);
			continue;
		}
		char *text = has_suffix(e->d_name, ".h") ? slurp_file(path, NULL) : NULL;
		for (char *p = text; p && *p; p++) {
			if ((p > text && (ident_char(p[-1]) || p[-1] == '/' || p[-1] == '.')) || !ours(p))
				continue;
			char cited[256];
			size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-");
			while (n > 0 && p[n - 1] == '.')
				n--;
			if (n >= sizeof cited)
				continue;
			memcpy(cited, p, n);
			cited[n] = 0;
			p += n - 1;
			if (!looks_like_path(cited))
				continue;
			checked++;
			bool ok = stat(cited, &st) == 0;
			if (!ok)
				printf("\n  %s names %s, which does not exist\n", path, cited);
			CU_ASSERT(ok);
		}
		free(text);
	}
	closedir(d);
	return checked;
}

static void test_cited_names(void)
{
	for (int i = 0; source_dirs[i]; i++)
		add_sources(source_dirs[i]);
	CU_ASSERT_FATAL(nsources > 0);
	int checked = check_page("README.md");
	DIR *d = opendir("docs");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!has_suffix(e->d_name, ".md"))
			continue;
		char page[512];
		snprintf(page, sizeof page, "docs/%s", e->d_name);
		checked += check_page(page);
	}
	closedir(d);
	CU_ASSERT(checked > 100); /* the check did not silently find nothing */
	int in_headers = 0;
	for (int i = 0; source_dirs[i]; i++)
		in_headers += check_header_paths(source_dirs[i]);
	CU_ASSERT(in_headers > 10);
	free(sources);
	sources = NULL, nsources = cap_sources = 0;
}

/* The check itself: what counts as defined, and what is not ours. */
static void test_cited_rules(void)
{
	add_sources("gc");
	CU_ASSERT(in_sources("xmalloc", 7, true));     /* void *xmalloc(size_t n) */
	CU_ASSERT(in_sources("fnv1a", 5, true));       /* static inline uint64_t fnv1a( */
	CU_ASSERT(!in_sources("check", 5, true) || in_sources("check", 5, false));
	CU_ASSERT(!in_sources("no_such_function", 16, false));
	CU_ASSERT(!in_sources("xmallo", 6, false)); /* whole words only */
	CU_ASSERT(ours("trace/tools/tools.c"));
	CU_ASSERT(!ours("fixture/nest.c"));
	CU_ASSERT(looks_like_path("trace/tools/"));
	CU_ASSERT(!looks_like_path("programs/*.gasm"));
	CU_ASSERT(!looks_like_path("--procs=N"));
	free(sources);
	sources = NULL, nsources = cap_sources = 0;
}

int main(void)
{
	return unit_run("docs", NULL, NULL, (const unit_test[]){
		{"split_row", test_split_row},
		{"instruction table matches opcodes.h", test_instruction_table},
		{"what counts as a cited file or function", test_cited_rules},
		{"every file and function the docs cite exists", test_cited_names},
		{NULL, NULL}});
}
