/* fuzz.h: the driver every fuzz harness shares (tests/fuzz/fuzz_*.c).
 *
 * A harness defines one function, fuzz_one(data, len), that feeds the bytes
 * to the code under test and abort()s when the code breaks a rule it must
 * keep (a crash, a sanitizer report or a hang are found without it).  The
 * driver gives it bytes two ways:
 *
 *   - built by afl-clang-fast (./run fuzz): AFL++'s persistent mode, many
 *     inputs per process, each copied into a buffer of its exact length so
 *     that AddressSanitizer sees a read one past the end;
 *   - built by the normal build (build/tests/fuzz_*, release and debug):
 *     `fuzz_NAME FILE|DIR...` runs every file given, and every file of
 *     every folder given, and prints how many.  tests/scripts/fuzz_corpus.sh
 *     replays the saved corpus (tests/fuzz/corpus/NAME) this way in CI.
 *
 * Never more than one fuzz_one is running: the harnesses may keep state.
 */
#ifndef GREENVM_FUZZ_H
#define GREENVM_FUZZ_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The harness: feed len bytes at data to the code under test. */
static void fuzz_one(const uint8_t *data, size_t len);

/* Stop with a message: AFL++ counts an abort as a crash and keeps the input. */
#define FUZZ_CHECK(cond, ...)                                           \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "fuzz: check failed: %s: ", #cond); \
			fprintf(stderr, __VA_ARGS__);                   \
			fputc('\n', stderr);                            \
			abort();                                        \
		}                                                       \
	} while (0)

/* Run fuzz_one on a private copy of exactly len bytes. */
static void fuzz_copy(const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	if (len)
		memcpy(copy, data, len);
	fuzz_one(copy, len);
	free(copy);
}

/* One file: read it whole and run it.  0, or -1 if it cannot be read. */
static int fuzz_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz: %s: cannot open\n", path);
		return -1;
	}
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			uint8_t *nb = realloc(buf, cap);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	fclose(f);
	if (!buf)
		abort();
	fuzz_copy(buf, n);
	free(buf);
	return 0;
}

static int fuzz_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file, or every regular file in a folder (in name order).  Adds the
 * number run to *count; -1 if something could not be read. */
static int fuzz_path(const char *path, long *count)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "fuzz: %s: no such file or folder\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*count += 1;
		return fuzz_file(path);
	}
	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "fuzz: %s: cannot open the folder\n", path);
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof *names);
			if (!names)
				abort();
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, fuzz_cmp_names);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char full[4096];
		snprintf(full, sizeof full, "%s/%s", path, names[i]);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			*count += 1;
			if (fuzz_file(full) != 0)
				rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

#ifdef __AFL_FUZZ_TESTCASE_LEN
__AFL_FUZZ_INIT();
#endif

int main(int argc, char **argv)
{
#ifdef __AFL_FUZZ_TESTCASE_LEN
	/* Under afl-fuzz: persistent mode (the forkserver starts here). */
	if (argc < 2) {
		__AFL_INIT();
		const uint8_t *buf = __AFL_FUZZ_TESTCASE_BUF;
		while (__AFL_LOOP(10000))
			fuzz_copy(buf, (size_t)__AFL_FUZZ_TESTCASE_LEN);
		return 0;
	}
#endif
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	long count = 0;
	int rc = 0;
	for (int i = 1; i < argc; i++)
		if (fuzz_path(argv[i], &count) != 0)
			rc = 1;
	printf("%s: %ld inputs ran\n", argv[0], count);
	return rc;
}

#endif
