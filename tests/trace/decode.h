/* decode.h: a small, strict decoder of Go 1.19 trace files, for the trace tests.
 *
 * It reads the byte stream the way Go's parser does (readTrace): header,
 * then records one after another, each event's argument count from its
 * first byte, a byte length for k = 3 that must match exactly, EvString's
 * own layout, UserLog's inline message.  A record split by another record
 * (a string inside a stack record, a batch header inside an event) cannot
 * decode: the lengths stop matching.  Static functions, included by tests.
 */
#ifndef GREENVM_TESTS_TRACE_DECODE_H
#define GREENVM_TESTS_TRACE_DECODE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace.h"

/* One decoded record. */
typedef struct dec_rec {
	uint8_t type;       /* event type (the low 6 bits) */
	size_t off;         /* offset of its first byte in the file */
	size_t arg0;        /* index of its first argument in dec.args */
	size_t nargs;       /* number of arguments (EvString: id, len) */
	const uint8_t *str; /* EvString bytes or UserLog message, else NULL */
	size_t slen;        /* their length */
} dec_rec;

/* A decoded file. */
typedef struct dec {
	dec_rec *recs;  /* the records in file order */
	size_t nrecs;   /* how many */
	uint64_t *args; /* every argument of every record */
	size_t nargs;   /* how many */
	size_t cap_recs, cap_args; /* allocated lengths of recs and args */
	char err[160];  /* first decoding error, "" if none */
} dec;

static void dec_push_arg(dec *d, uint64_t v)
{
	if (d->nargs == d->cap_args)
		d->args = realloc(d->args, (d->cap_args = d->cap_args * 2 + 64) * sizeof *d->args);
	d->args[d->nargs++] = v;
}

static dec_rec *dec_push_rec(dec *d)
{
	if (d->nrecs == d->cap_recs)
		d->recs = realloc(d->recs, (d->cap_recs = d->cap_recs * 2 + 64) * sizeof *d->recs);
	dec_rec *r = &d->recs[d->nrecs++];
	memset(r, 0, sizeof *r);
	r->arg0 = d->nargs;
	return r;
}

static int dec_fail(dec *d, size_t off, const char *what)
{
	snprintf(d->err, sizeof d->err, "offset %zu: %s", off, what);
	return -1;
}

/* Decode p[0..n) (no header when header is 0).  Returns 0 or -1 (d->err). */
static int dec_parse(dec *d, const uint8_t *p, size_t n, int header)
{
	memset(d, 0, sizeof *d);
	size_t i = 0;
	if (header) {
		if (n < 16 || memcmp(p, "go 1.19 trace\0\0\0", 16) != 0)
			return dec_fail(d, 0, "bad header");
		i = 16;
	}
	while (i < n) {
		dec_rec *r = dec_push_rec(d);
		r->off = i;
		r->type = p[i] & 0x3f;
		unsigned k = p[i] >> 6;
		i++;
		if (r->type == TRACE_EV_NONE || r->type >= TRACE_EV_COUNT)
			return dec_fail(d, r->off, "unknown event type");
		uint64_t v;
		int m;
		if (r->type == TRACE_EV_STRING) {
			for (int j = 0; j < 2; j++) {
				if (!(m = trace_varint_get(p + i, n - i, &v)))
					return dec_fail(d, i, "bad varint in string");
				i += (size_t)m;
				dec_push_arg(d, v);
			}
			r->nargs = 2;
			if (d->args[r->arg0] == 0 || v == 0 || v > n - i)
				return dec_fail(d, r->off, "bad string id or length");
			r->str = p + i;
			r->slen = v;
			i += v;
			continue;
		}
		if (k < 3) {
			for (unsigned j = 0; j <= k; j++) {
				if (!(m = trace_varint_get(p + i, n - i, &v)))
					return dec_fail(d, i, "bad varint");
				i += (size_t)m;
				dec_push_arg(d, v);
			}
			r->nargs = k + 1;
		} else {
			if (!(m = trace_varint_get(p + i, n - i, &v)))
				return dec_fail(d, i, "bad length varint");
			i += (size_t)m;
			size_t end = i + v;
			if (end > n)
				return dec_fail(d, r->off, "length past the end");
			while (i < end) {
				if (!(m = trace_varint_get(p + i, end - i, &v)))
					return dec_fail(d, i, "bad varint in counted event");
				i += (size_t)m;
				dec_push_arg(d, v);
				r->nargs++;
			}
			if (i != end)
				return dec_fail(d, r->off, "event has wrong length");
		}
		if (r->type == TRACE_EV_USER_LOG) {
			if (!(m = trace_varint_get(p + i, n - i, &v)) || v > n - i - (size_t)m)
				return dec_fail(d, i, "bad log message");
			i += (size_t)m;
			r->str = p + i;
			r->slen = v;
			i += v;
		}
	}
	return 0;
}

static uint64_t dec_arg(const dec *d, const dec_rec *r, size_t j)
{
	return d->args[r->arg0 + j];
}

static void dec_free(dec *d)
{
	free(d->recs);
	free(d->args);
	memset(d, 0, sizeof *d);
}

/* The whole file, malloc'd; NULL if it cannot be read. */
static uint8_t *dec_read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	uint8_t *b = malloc(cap);
	size_t got;
	while ((got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	*size = n;
	return b;
}

#endif
