/* fuzz_asm.c: fuzz target for the assembler (vm_asm) and what follows it.
 *
 * Any bytes are a .gasm file.  Rules checked beyond "no crash":
 *   - a refusal is a message that names the file ("fuzz.gasm:LINE: ..." or
 *     "fuzz.gasm: ...");
 *   - a program that assembles and verifies survives both round trips the
 *     tools make: .gbc (encode, decode, verify, encode again: the same
 *     bytes) and text (disassemble, assemble, verify, disassemble again:
 *     the same text): tests/fuzz/program.h.
 * Seeds: the .gasm files of programs/, tests/programs/ and tests/bad/.
 */
#include "tests/fuzz/program.h"

#define NAME "fuzz.gasm"

static void fuzz_one(const uint8_t *data, size_t len)
{
	vm_diag d = {{0}};
	vm_program *p = vm_asm(NAME, (const char *)data, len, &d);
	if (!fuzz_verified(p, &d, NAME, "assembler"))
		return;
	fuzz_gbc_round_trip(p);
	fuzz_text_round_trip(p, true);
	vm_program_free(p);
}
