/*
 * test_support.h - what the C tests share: one line a check ("ok ..." or "FAIL ..."), and a tiny
 * protobuf writer for the messages they feed the readers (CRIU's RPC replies, its core images).
 */
#ifndef CRAC_TEST_SUPPORT_H
#define CRAC_TEST_SUPPORT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int failures;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failures++;
}

struct msg {
	uint8_t b[4096];
	size_t n;
};

static void varint(struct msg *m, uint64_t v)
{
	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		m->b[m->n++] = byte | (v ? 0x80 : 0);
	} while (v);
}

static void key(struct msg *m, uint32_t field, uint32_t wire)
{
	varint(m, (uint64_t)field << 3 | wire);
}

/* A length-delimited field (wire type 2) holding `len` bytes at `p`. */
static void bytes(struct msg *m, uint32_t field, const void *p, size_t len)
{
	key(m, field, 2);
	varint(m, len);
	memcpy(m->b + m->n, p, len);
	m->n += len;
}

#endif
