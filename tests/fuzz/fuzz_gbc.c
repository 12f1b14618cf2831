/* fuzz_gbc.c: fuzz target for the .gbc decoder and the verifier.
 *
 * Any bytes are a .gbc file (the seeds carry the magic number, so most
 * inputs reach past the header).  Rules checked beyond "no crash":
 *   - a refusal is a message that names the file ("fuzz.gbc: offset 0x...:
 *     ..." or "fuzz.gbc:LINE: ..." for the verifier's line numbers);
 *   - a program that decodes and verifies encodes back to a .gbc that
 *     decodes and verifies again, and (up to 65536 locals in all)
 *     disassembles to text that assembles and verifies.
 * Seeds: the .gbc of every bundled and test program, the .gbc.hex images of
 * tests/bad/.
 */
#include "tests/fuzz/fuzz.h"

#include "vm/vm.h"

#define NAME "fuzz.gbc"

static int names_file(const vm_diag *d)
{
	return strncmp(d->msg, NAME, strlen(NAME)) == 0 &&
	       (d->msg[strlen(NAME)] == ':') && d->msg[strlen(NAME) + 1] != 0;
}

static void fuzz_one(const uint8_t *data, size_t len)
{
	vm_diag d = {{0}};
	vm_program *p = vm_gbc_decode(NAME, data, len, &d);
	if (!p) {
		FUZZ_CHECK(names_file(&d), "decoder message \"%s\"", d.msg);
		return;
	}
	if (vm_verify(p, &d) != 0) {
		FUZZ_CHECK(names_file(&d), "verifier message \"%s\"", d.msg);
		vm_program_free(p);
		return;
	}

	uint8_t *img = NULL;
	size_t n = vm_gbc_encode(p, &img);
	vm_program *q = vm_gbc_decode(NAME, img, n, &d);
	FUZZ_CHECK(q != NULL, "its re-encoding does not decode: %s", d.msg);
	FUZZ_CHECK(vm_verify(q, &d) == 0, "its re-encoding does not verify: %s", d.msg);
	free(img);
	vm_program_free(q);

	/* A few bytes can declare a million locals (the verifier's limit is
	 * 1<<20 a frame), whose disassembly is megabytes of `.local` names:
	 * right, but slow enough under ASan to count as a hang.  The text
	 * round trip is checked for programs of a sane size. */
	uint64_t slots = 0;
	for (uint32_t i = 0; i < p->nfuncs; i++)
		slots += p->funcs[i].nlocals;
	if (slots > 65536) {
		vm_program_free(p);
		return;
	}
	char *text = NULL;
	size_t tl;
	FILE *f = open_memstream(&text, &tl);
	FUZZ_CHECK(f != NULL, "open_memstream");
	vm_disasm(p, f);
	fclose(f);
	vm_program *r = vm_asm("fuzz.gasm", text, tl, &d);
	FUZZ_CHECK(r != NULL, "its disassembly does not assemble: %s", d.msg);
	FUZZ_CHECK(vm_verify(r, &d) == 0, "its disassembly does not verify: %s", d.msg);
	free(text);
	vm_program_free(r);
	vm_program_free(p);
}
