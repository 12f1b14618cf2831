/* fuzz_asm.c: fuzz target for the assembler (vm_asm) and what follows it.
 *
 * Any bytes are a .gasm file.  Rules checked beyond "no crash":
 *   - a refusal is a message that names the file ("fuzz.gasm:LINE: ..." or
 *     "fuzz.gasm: ...");
 *   - a program that assembles and verifies survives both round trips the
 *     tools make: .gbc (encode, decode, verify, encode again: the same
 *     bytes) and text (disassemble, assemble, verify, disassemble again:
 *     the same text).
 * Seeds: the .gasm files of programs/, tests/programs/ and tests/bad/.
 */
#include "tests/fuzz/fuzz.h"

#include "vm/vm.h"

#define NAME "fuzz.gasm"

static int names_file(const vm_diag *d)
{
	return strncmp(d->msg, NAME ":", strlen(NAME ":")) == 0 && d->msg[strlen(NAME ":")] != 0;
}

/* p as disassembly text in a malloc'd buffer. */
static char *disasm_text(const vm_program *p, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	FUZZ_CHECK(f != NULL, "open_memstream");
	vm_disasm(p, f);
	fclose(f);
	return text;
}

static void fuzz_one(const uint8_t *data, size_t len)
{
	vm_diag d = {{0}};
	vm_program *p = vm_asm(NAME, (const char *)data, len, &d);
	if (!p) {
		FUZZ_CHECK(names_file(&d), "assembler message \"%s\"", d.msg);
		return;
	}
	if (vm_verify(p, &d) != 0) {
		FUZZ_CHECK(names_file(&d), "verifier message \"%s\"", d.msg);
		vm_program_free(p);
		return;
	}

	/* .gbc round trip */
	uint8_t *img = NULL;
	size_t n = vm_gbc_encode(p, &img);
	vm_program *q = vm_gbc_decode("fuzz.gbc", img, n, &d);
	FUZZ_CHECK(q != NULL, "its own .gbc does not decode: %s", d.msg);
	FUZZ_CHECK(vm_verify(q, &d) == 0, "its own .gbc does not verify: %s", d.msg);
	uint8_t *img2 = NULL;
	size_t n2 = vm_gbc_encode(q, &img2);
	FUZZ_CHECK(n2 == n && memcmp(img, img2, n) == 0, "the .gbc differs after a round trip (%zu, %zu bytes)", n, n2);
	free(img);
	free(img2);
	vm_program_free(q);

	/* text round trip */
	size_t tl, tl2;
	char *text = disasm_text(p, &tl);
	vm_program *r = vm_asm(NAME, text, tl, &d);
	FUZZ_CHECK(r != NULL, "its disassembly does not assemble: %s", d.msg);
	FUZZ_CHECK(vm_verify(r, &d) == 0, "its disassembly does not verify: %s", d.msg);
	char *text2 = disasm_text(r, &tl2);
	FUZZ_CHECK(tl == tl2 && memcmp(text, text2, tl) == 0, "the disassembly differs after a round trip");
	free(text);
	free(text2);
	vm_program_free(r);
	vm_program_free(p);
}
