/* common.c: the id table, reading a file and the JSON string writer (see common.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gc/common.h"
#include "gc/gc.h"

/* ---- the id table -------------------------------------------------------- */

/* Where the key (hashed h; name NULL for an id) is, or the free slot where
 * it goes.  The table is never full. */
static idtab_slot *find(const idtab *t, uint64_t h, const char *name, size_t len)
{
	/* Ids are often small and dense: multiply (Fibonacci hashing) so that
	 * they spread over the slots; a name's hash is spread already. */
	uint64_t mix = name ? h : (h * 0x9E3779B97F4A7C15ull) >> 17;
	for (uint32_t i = (uint32_t)mix & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		idtab_slot *s = &t->slots[i];
		if (!s->used || (s->key == h && (!name || (s->len == len && memcmp(s->name, name, len) == 0))))
			return s;
	}
}

static uint32_t *get(const idtab *t, uint64_t h, const char *name, size_t len)
{
	if (t->cap == 0)
		return NULL;
	idtab_slot *s = find(t, h, name, len);
	return s->used ? &s->val : NULL;
}

static uint32_t *put(idtab *t, uint64_t h, const char *name, size_t len, uint32_t val, bool *fresh)
{
	if (((uint64_t)t->n + 1) * 2 > t->cap) {
		idtab old = *t;
		t->cap = old.cap ? old.cap * 2 : 64;
		t->slots = xcalloc(t->cap, sizeof *t->slots);
		for (uint32_t i = 0; i < old.cap; i++)
			if (old.slots[i].used)
				*find(t, old.slots[i].key, old.slots[i].name, old.slots[i].len) = old.slots[i];
		free(old.slots);
	}
	idtab_slot *s = find(t, h, name, len);
	bool f = !s->used;
	if (f) {
		*s = (idtab_slot){ .key = h, .name = name, .len = len, .val = val, .used = true };
		t->n++;
	}
	if (fresh)
		*fresh = f;
	return &s->val;
}

uint32_t *idtab_get(const idtab *t, uint64_t id)
{
	return get(t, id, NULL, 0);
}

uint32_t *idtab_put(idtab *t, uint64_t id, uint32_t val, bool *fresh)
{
	return put(t, id, NULL, 0, val, fresh);
}

uint32_t *idtab_get_name(const idtab *t, const char *name, size_t len)
{
	return get(t, fnv1a(name, len), name, len);
}

uint32_t *idtab_put_name(idtab *t, const char *name, size_t len, uint32_t val, bool *fresh)
{
	return put(t, fnv1a(name, len), name, len, val, fresh);
}

void idtab_free(idtab *t)
{
	free(t->slots);
	*t = (idtab){ 0 };
}

/* ---- files ---------------------------------------------------------------- */

char *slurp_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		buf = xrealloc(buf, cap *= 2);
	}
	int bad = ferror(f), err = errno;
	fclose(f);
	if (bad) {
		free(buf);
		errno = err ? err : EIO;
		return NULL;
	}
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/* ---- JSON ---------------------------------------------------------------- */

void json_put_escaped(FILE *out, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(out, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(out, "\\u%04x", *c);
		else if (*c == '/' && c > (const unsigned char *)s && c[-1] == '<')
			fputs("\\/", out);
		else
			fputc(*c, out);
	}
}

void json_put_string(FILE *out, const char *s)
{
	fputc('"', out);
	json_put_escaped(out, s);
	fputc('"', out);
}
