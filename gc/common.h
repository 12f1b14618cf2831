/* common.h: the small C helpers every folder shares (gc/common.c).
 *
 * One copy of each: the byte hash (FNV-1a), the table from ids or names to
 * indices, reading a whole file, and the JSON string writer.  Memory comes from xmalloc and its
 * kin (gc/gc.h), which never return NULL: out of memory is fatal, as it is
 * for the collector.  The helpers live in gc/ because gc/ is the bottom of
 * the dependency graph (docs/architecture.md): every other folder may
 * include this header.  The trace writer, which runs on g0 and must not
 * allocate, uses only fnv1a (inline, no allocation).
 */
#ifndef GREENVM_GC_COMMON_H
#define GREENVM_GC_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* FNV-1a (64-bit) over the n bytes at p. */
static inline uint64_t fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 14695981039346656037ull; /* the offset basis */
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull; /* the FNV prime */
	return h;
}

/* ---- the id table ---------------------------------------------------------
 *
 * An open-addressing table (linear probing, at most half full) from keys to
 * uint32 values, usually indices into the caller's array.  A key is either
 * a 64-bit id or a name: len bytes, not copied, which must stay valid as
 * long as the table holds them.  One table holds one kind of key.  A zeroed
 * idtab is an empty table. */

/* One slot. */
typedef struct idtab_slot {
	/* the id, or the name's fnv1a */
	uint64_t key;
	/* the name, NULL for an id key */
	const char *name;
	/* the name's length */
	size_t len;
	/* the value */
	uint32_t val;
	/* the slot holds a key */
	bool used;
} idtab_slot;

typedef struct idtab {
	/* cap slots (NULL when cap is 0) */
	idtab_slot *slots;
	/* a power of two, or 0 (values are uint32_t indices: fewer keys) */
	uint32_t cap;
	/* used slots; n * 2 <= cap */
	uint32_t n;
} idtab;

/* The value of id, or NULL when absent. */
uint32_t *idtab_get(const idtab *t, uint64_t id);
/* The value of id, inserted as val when absent (*fresh, unless NULL, says
 * whether it was). */
uint32_t *idtab_put(idtab *t, uint64_t id, uint32_t val, bool *fresh);
/* The same for a name key. */
uint32_t *idtab_get_name(const idtab *t, const char *name, size_t len);
uint32_t *idtab_put_name(idtab *t, const char *name, size_t len, uint32_t val, bool *fresh);
/* Free the slots; the table is empty again. */
void idtab_free(idtab *t);

/* ---- files ---------------------------------------------------------------- */

/* The whole of the file at path, NUL-terminated, its length in *len (when
 * len is not NULL); free it.  NULL, with errno set, when the file cannot be
 * opened or read. */
char *slurp_file(const char *path, size_t *len);

/* ---- JSON ---------------------------------------------------------------- */

/* Write s as a JSON string, quotes included: '"' and '\' escaped, control
 * characters as \u00XX, and "</" as "<\/" so that the text may sit inside
 * an HTML <script>. */
void json_put_string(FILE *out, const char *s);
/* The same without the quotes: the inside of a string, for a string made
 * of several parts. */
void json_put_escaped(FILE *out, const char *s);

#endif
