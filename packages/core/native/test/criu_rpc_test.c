/*
 * criu_rpc_test.c - the CRIU RPC decoder against well-formed, malformed and random replies, and
 * the encoder's optional fields.
 * A reply comes from another process (CRIU) and is parsed inside the app being dumped: it must
 * never read outside the buffer, loop forever or accept a truncated message.
 * Built and run by src/engine/criu/rpc.test.ts; prints one line per check, exits 1 on a failure.
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu/criu_rpc.h"
#include "test_support.h"

static int decode(const struct msg *m, struct criu_resp *r)
{
	return criu_rpc_decode_resp(m->b, m->n, r);
}

int main(void)
{
	struct criu_resp r;
	struct msg m = { 0 }, dump = { 0 };

	/* a "restored" reply: type DUMP, success, dump { restored = 1 } */
	key(&dump, 1, 0);
	varint(&dump, 1);
	key(&m, 1, 0);
	varint(&m, CRIU_REQ_DUMP);
	key(&m, 2, 0);
	varint(&m, 1);
	bytes(&m, 3, dump.b, dump.n);
	check(decode(&m, &r) == 0 && r.type == CRIU_REQ_DUMP && r.success && r.has_dump && r.dump_restored,
	      "decodes a restored reply");

	/* unknown fields of every valid wire type are skipped */
	struct msg u = m;
	key(&u, 40, 0);
	varint(&u, 123456789);
	key(&u, 41, 1);
	memset(u.b + u.n, 0xab, 8);
	u.n += 8;
	bytes(&u, 42, "skip me", 7);
	key(&u, 43, 5);
	memset(u.b + u.n, 0xcd, 4);
	u.n += 4;
	check(decode(&u, &r) == 0 && r.success && r.dump_restored, "skips unknown fields of each wire type");

	/* a failure with its errno and message */
	struct msg f = { 0 };
	key(&f, 2, 0);
	varint(&f, 0);
	key(&f, 7, 0);
	varint(&f, 13);
	bytes(&f, 9, "Permission denied", 17);
	check(decode(&f, &r) == 0 && !r.success && r.has_cr_errno && r.cr_errno == 13 && strcmp(r.cr_errmsg, "Permission denied") == 0,
	      "decodes a failure with cr_errno and cr_errmsg");

	/* an over-long message is cut and stays NUL-terminated */
	struct msg l = { 0 };
	char long_text[2000];
	memset(long_text, 'e', sizeof long_text);
	bytes(&l, 9, long_text, sizeof long_text);
	check(decode(&l, &r) == 0 && strlen(r.cr_errmsg) == sizeof r.cr_errmsg - 1, "truncates an over-long cr_errmsg");

	/* every strict prefix of a valid reply but the empty one is refused or decodes a prefix of it, never more */
	int prefixes_ok = 1;
	for (size_t cut = 1; cut < m.n; cut++) {
		int rc = criu_rpc_decode_resp(m.b, cut, &r);
		if (rc == 0 && r.dump_restored && cut < m.n)
			prefixes_ok = 0;
	}
	check(prefixes_ok, "never reads a truncated reply as complete");

	/* malformed: a length that runs past the end, a varint with no end, reserved wire types */
	struct msg past = { 0 };
	key(&past, 9, 2);
	varint(&past, 1000);
	memcpy(past.b + past.n, "short", 5);
	past.n += 5;
	check(decode(&past, &r) == -1, "refuses a length past the end of the message");

	struct msg endless = { 0 };
	key(&endless, 1, 0);
	memset(endless.b + endless.n, 0xff, 12);
	endless.n += 12;
	check(decode(&endless, &r) == -1, "refuses a varint longer than 10 bytes");

	for (uint32_t wire = 3; wire <= 7; wire++) {
		if (wire == 5)
			continue;
		struct msg w = { 0 };
		key(&w, 1, wire);
		varint(&w, 1);
		char what[64];
		snprintf(what, sizeof what, "refuses wire type %u", wire);
		check(decode(&w, &r) == -1, what);
	}

	struct msg bad_dump = { 0 };
	uint8_t broken[] = { 0x08 }; /* field 1, varint, then nothing */
	bytes(&bad_dump, 3, broken, sizeof broken);
	check(decode(&bad_dump, &r) == -1, "refuses a truncated dump sub-message");

	/* random bytes: any answer, but no crash and no read outside the buffer (run under valgrind or ASan to see it) */
	srand(42);
	for (int i = 0; i < 200000; i++) {
		size_t len = (size_t)(rand() % 64);
		uint8_t *buf = malloc(len ? len : 1);
		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rand();
		int rc = criu_rpc_decode_resp(buf, len, &r);
		if (rc != 0 && rc != -1)
			failures++;
		if (memchr(r.cr_errmsg, 0, sizeof r.cr_errmsg) == NULL)
			failures++;
		free(buf);
	}
	check(1, "200000 random replies decoded or refused");

	/* the request: `unprivileged` is criu_opts field 67 (key 67 << 3 | 0 = 0x98 0x04), sent only when set */
	struct criu_dump_opts o = { .images_dir_fd = 3, .log_level = 4, .log_file = "dump.log" };
	uint8_t req[256];
	static const uint8_t unpriv_field[] = { 0x98, 0x04, 0x01 };
	int len = criu_rpc_encode_dump_req(&o, req, sizeof req);
	check(len > 0 && !memmem(req, (size_t)len, unpriv_field, sizeof unpriv_field), "leaves unprivileged out by default");
	o.unprivileged = 1;
	int len_unpriv = criu_rpc_encode_dump_req(&o, req, sizeof req);
	check(len_unpriv == len + 3 && memmem(req, (size_t)len_unpriv, unpriv_field, sizeof unpriv_field) == req + len_unpriv - 3,
	      "sends unprivileged = true as the last option");

	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
