/* program.h: what the program targets (fuzz_asm.c, fuzz_gbc.c) check: refusals, and the tools' round trips.
 *
 * A program the assembler or the decoder refuses, or that the verifier
 * refuses, must be refused with a message that names the file; one that
 * verifies must survive the round trips the tools make.
 */
#ifndef GREENVM_FUZZ_PROGRAM_H
#define GREENVM_FUZZ_PROGRAM_H

#include <stdbool.h>

#include "tests/fuzz/fuzz.h"

#include "vm/vm.h"

/* Does d's message name the file: "name:" and something after? */
static bool fuzz_names_file(const vm_diag *d, const char *name)
{
	size_t n = strlen(name);
	return strncmp(d->msg, name, n) == 0 && d->msg[n] == ':' && d->msg[n + 1] != 0;
}

/* p, what `loader` ("assembler", "decoder") made of the file `name`, with
 * its message in d when it is NULL: true when p verifies.  Otherwise the
 * loader's or the verifier's message must name the file, and p is freed. */
static bool fuzz_verified(vm_program *p, vm_diag *d, const char *name, const char *loader)
{
	if (!p) {
		FUZZ_CHECK(fuzz_names_file(d, name), "%s message \"%s\"", loader, d->msg);
		return false;
	}
	if (vm_verify(p, d) != 0) {
		FUZZ_CHECK(fuzz_names_file(d, name), "verifier message \"%s\"", d->msg);
		vm_program_free(p);
		return false;
	}
	return true;
}

/* p as disassembly text in a malloc'd buffer of *len bytes. */
static char *fuzz_disasm_text(const vm_program *p, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	FUZZ_CHECK(f != NULL, "open_memstream");
	vm_disasm(p, f);
	fclose(f);
	return text;
}

/* .gbc: p encodes to a .gbc that decodes and verifies, and that encodes
 * again to the same bytes. */
static void fuzz_gbc_round_trip(const vm_program *p)
{
	vm_diag d = {{0}};
	uint8_t *img = NULL, *img2 = NULL;
	size_t n = vm_gbc_encode(p, &img);
	vm_program *q = vm_gbc_decode("fuzz.gbc", img, n, &d);
	FUZZ_CHECK(q != NULL, "its .gbc does not decode: %s", d.msg);
	FUZZ_CHECK(vm_verify(q, &d) == 0, "its .gbc does not verify: %s", d.msg);
	size_t n2 = vm_gbc_encode(q, &img2);
	FUZZ_CHECK(n2 == n && memcmp(img, img2, n) == 0,
		   "the .gbc differs after a round trip (%zu, %zu bytes)", n, n2);
	free(img);
	free(img2);
	vm_program_free(q);
}

/* Text: p disassembles to text that assembles and verifies and, with
 * same, that disassembles again to the same text.  The text is assembled
 * under the name p was loaded from, which the disassembly's first line
 * shows.  (Not the same for a .gbc: it declares each function's operand
 * stack, which may be deeper than the one the verifier computes from the
 * assembled text, and the disassembly prints it.) */
static void fuzz_text_round_trip(const vm_program *p, bool same)
{
	vm_diag d = {{0}};
	size_t tl, tl2;
	char *text = fuzz_disasm_text(p, &tl);
	vm_program *r = vm_asm(p->loaded_from ? p->loaded_from : p->file, text, tl, &d);
	FUZZ_CHECK(r != NULL, "its disassembly does not assemble: %s", d.msg);
	FUZZ_CHECK(vm_verify(r, &d) == 0, "its disassembly does not verify: %s", d.msg);
	if (same) {
		char *text2 = fuzz_disasm_text(r, &tl2);
		FUZZ_CHECK(tl == tl2 && memcmp(text, text2, tl) == 0,
			   "the disassembly differs after a round trip");
		free(text2);
	}
	free(text);
	vm_program_free(r);
}

#endif
