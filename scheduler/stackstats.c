/* stackstats.c: --stack-stats, each M's g0 and M-stack use and the deepest g0 use per operation. */
#include <stdio.h>
#include <string.h>

#include "gc/common.h"
#include "scheduler/runtime.h"

void sched_stack_stats_enable(void)
{
	sched_stack_stats = true;
}

/* Deepest use of m's M stack so far (its untouched pages are still zero). */
__attribute__((no_sanitize_address)) static size_t mstack_deepest(const sched_m *m)
{
	const uintptr_t *w = (const uintptr_t *)m->mstack_lo;
	while ((const char *)w < m->mstack_hi && *w == 0)
		w++;
	return (size_t)(m->mstack_hi - (const char *)w);
}

/* An M's g0 high-water mark: the paint tells it, unless --stack-stats
 * repainted g0 for each operation; then it is the deepest operation. */
static size_t g0_high_water(sched_m *m)
{
	size_t hw = sched_g0_high_water(m);
	for (int i = 0; i < SCHED_OPSTATS; i++)
		if (m->opstats[i].deepest > hw)
			hw = m->opstats[i].deepest;
	return hw;
}

void sched_stack_report(FILE *out, bool json, uint64_t vm_largest, uint64_t vm_growths)
{
	/* Merge the per-M operation tables by name. */
	struct sched_opstat ops[SCHED_OPSTATS * 4] = { 0 };
	int nops = 0;
	for (sched_m *m = sched.allm; m; m = m->alllink) {
		for (int i = 0; i < SCHED_OPSTATS && m->opstats[i].op; i++) {
			struct sched_opstat *o = &m->opstats[i];
			int j = 0;
			while (j < nops && strcmp(ops[j].op, o->op) != 0)
				j++;
			if (j == nops) {
				if (nops == (int)(sizeof ops / sizeof ops[0]))
					continue;
				ops[nops++] = (struct sched_opstat){ o->op, 0 };
			}
			if (o->deepest > ops[j].deepest)
				ops[j].deepest = o->deepest;
		}
	}
	if (json) {
		fputs("{\"ms\": [", out);
		for (sched_m *m = sched.allm; m; m = m->alllink)
			fprintf(out, "%s{\"m\": %lld, \"g0_bytes\": %zu, \"g0_high_water\": %zu, "
				"\"mstack_bytes\": %zu, \"mstack_deepest\": %zu}",
				m == sched.allm ? "" : ", ", (long long)m->id, m->sysstack,
				g0_high_water(m), m->mstack,
				mstack_deepest(m));
		fputs("], \"operations\": {", out);
		for (int j = 0; j < nops; j++) {
			fputs(j ? ", " : "", out);
			json_put_string(out, ops[j].op);
			fprintf(out, ": %zu", ops[j].deepest);
		}
		fprintf(out, "}, \"vm_stacks\": {\"largest_bytes\": %llu, \"growths\": %llu}, "
			"\"signal\": {\"kernel_frame_bytes\": %zu, \"handler_bytes\": %u, "
			"\"g0_static_worst_bytes\": %u, \"sysstack_min_bytes\": %zu}}\n",
			(unsigned long long)vm_largest, (unsigned long long)vm_growths,
			sched_signal_frame(), SCHED_GC_SIGNAL_HANDLER, SCHED_G0_STATIC_WORST,
			sched_sysstack_safe_min());
		return;
	}
	fputs("stack statistics:\n", out);
	for (sched_m *m = sched.allm; m; m = m->alllink)
		fprintf(out, "  M %lld: g0 %zu bytes, high-water %zu bytes; M stack %zu bytes, deepest use %zu bytes\n",
			(long long)m->id, m->sysstack, g0_high_water(m),
			m->mstack, mstack_deepest(m));
	fputs("  deepest g0 use by operation:\n", out);
	for (int j = 0; j < nops; j++)
		fprintf(out, "    %-20s %6zu bytes\n", ops[j].op, ops[j].deepest);
	fprintf(out, "  goroutine VM stacks: largest %llu bytes, %llu growths\n",
		(unsigned long long)vm_largest, (unsigned long long)vm_growths);
	fprintf(out, "  signal reserve on g0: %zu bytes (kernel signal frame %zu bytes, measured "
		"on this CPU; collector's handler %u)\n",
		sched_signal_reserve(), sched_signal_frame(), SCHED_GC_SIGNAL_HANDLER);
	fprintf(out, "  smallest --sysstack accepted: %zu bytes (deepest runtime path %u + signal "
		"reserve, in pages)\n",
		sched_sysstack_safe_min(), SCHED_G0_STATIC_WORST);
}
