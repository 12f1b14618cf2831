/* object.c: strings and arrays on the GC heap, and how values print. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gc/gc.h"
#include "vm/internal.h"

vm_string *vm_string_new(const char *s, uint64_t n)
{
	/* Strings hold no pointers: the collector need not scan them. */
	vm_string *str = gc_alloc_atomic(sizeof *str + n + 1);
	str->len = n;
	if (s)
		memcpy(str->data, s, n);
	else
		memset(str->data, 0, n);
	str->data[n] = 0;
	return str;
}

vm_array *vm_array_new(uint64_t n)
{
	/* gc_alloc returns zeroed memory, and a zero slot is nil. */
	vm_array *a = gc_alloc(sizeof *a + n * sizeof(vm_value));
	a->len = n;
	return a;
}

/* Format a double as Go's fmt prints a float64 (strconv's 'g' format with
 * the shortest digits that read back exactly): "10", "3.5", "1e+06". */
static int format_float(char *buf, size_t n, double f)
{
	if (isnan(f))
		return snprintf(buf, n, "NaN");
	if (isinf(f))
		return snprintf(buf, n, f > 0 ? "+Inf" : "-Inf");
	int digits = 1;
	for (; digits < 17; digits++) {
		snprintf(buf, n, "%.*e", digits - 1, f);
		if (strtod(buf, NULL) == f)
			break;
	}
	snprintf(buf, n, "%.*e", digits - 1, f);
	int exp = atoi(strchr(buf, 'e') + 1);
	/* Go switches to the exponent form below 1e-4 and from 1e+06 up. */
	if (exp < -4 || exp >= 6)
		return (int)strlen(buf);
	int decimals = digits - 1 - exp;
	return snprintf(buf, n, "%.*f", decimals > 0 ? decimals : 0, f);
}

void vm_value_print(FILE *f, const vm_value *v)
{
	char buf[40];
	switch (v->kind) {
	case VK_NIL:
		fputs("nil", f);
		break;
	case VK_INT:
		fprintf(f, "%lld", (long long)v->u.i);
		break;
	case VK_FLOAT:
		format_float(buf, sizeof buf, v->u.f);
		fputs(buf, f);
		break;
	case VK_STRING:
		fwrite(v->u.s->data, 1, v->u.s->len, f);
		break;
	case VK_ARRAY:
		/* Like Go's fmt: [1 2 3].  Nested arrays print by address to keep
		 * a cycle from recursing forever. */
		fputc('[', f);
		for (uint64_t i = 0; i < v->u.a->len; i++) {
			const vm_value *e = &v->u.a->items[i];
			if (i)
				fputc(' ', f);
			if (e->kind == VK_ARRAY)
				fprintf(f, "array@%p", (void *)e->u.a);
			else
				vm_value_print(f, e);
		}
		fputc(']', f);
		break;
	default:
		fprintf(f, "%s@%p", vm_kind_name(v->kind), v->u.p);
		break;
	}
}

vm_string *vm_value_to_string(const vm_value *v)
{
	char buf[40];
	int n;
	if (v->kind == VK_INT)
		n = snprintf(buf, sizeof buf, "%lld", (long long)v->u.i);
	else
		n = format_float(buf, sizeof buf, v->u.f);
	return vm_string_new(buf, (uint64_t)n);
}

int vm_value_equal(const vm_value *a, const vm_value *b)
{
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case VK_NIL:
		return 1;
	case VK_INT:
		return a->u.i == b->u.i;
	case VK_FLOAT:
		return a->u.f == b->u.f;
	case VK_STRING:
		return a->u.s->len == b->u.s->len &&
		       memcmp(a->u.s->data, b->u.s->data, a->u.s->len) == 0;
	default:
		return a->u.p == b->u.p;
	}
}
