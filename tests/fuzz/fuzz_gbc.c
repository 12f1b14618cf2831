/* fuzz_gbc.c: fuzz target for the .gbc decoder and the verifier.
 *
 * Any bytes are a .gbc file (the seeds carry the magic number, so most
 * inputs reach past the header).  Rules checked beyond "no crash":
 *   - a refusal is a message that names the file ("fuzz.gbc: offset 0x...:
 *     ..." or "fuzz.gbc:LINE: ..." for the verifier's line numbers);
 *   - a program that decodes and verifies encodes back to a .gbc that
 *     decodes and verifies again and encodes to the same bytes, and (up to
 *     65536 locals in all) disassembles to text that assembles and
 *     verifies (tests/fuzz/program.h).
 * Seeds: the .gbc of every bundled and test program, the .gbc.hex images of
 * tests/bad/.
 */
#include "tests/fuzz/program.h"

#define NAME "fuzz.gbc"

static void fuzz_one(const uint8_t *data, size_t len)
{
	vm_diag d = {{0}};
	vm_program *p = vm_gbc_decode(NAME, data, len, &d);
	if (!fuzz_verified(p, &d, NAME, "decoder"))
		return;
	fuzz_gbc_round_trip(p);

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
	fuzz_text_round_trip(p, false);
	vm_program_free(p);
}
