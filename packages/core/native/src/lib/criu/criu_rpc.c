/*
 * criu_rpc.c - see criu_rpc.h. Hand-written protobuf (proto2) encoding of a
 * criu_req and decoding of a criu_resp; nothing else of protobuf is needed.
 */
#include "criu/criu_rpc.h"

#include <string.h>

/* ------------------------------------------------------------ encoding */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int overflow;
};

static void put_byte(struct wbuf *w, uint8_t b)
{
	if (w->len >= w->cap) {
		w->overflow = 1;
		return;
	}
	w->p[w->len++] = b;
}

static void put_varint(struct wbuf *w, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		put_byte(w, v ? (b | 0x80) : b);
	} while (v);
}

static void put_key(struct wbuf *w, uint32_t field, uint32_t wire_type)
{
	put_varint(w, ((uint64_t)field << 3) | wire_type);
}

/* int32 fields are encoded as sign-extended 64-bit varints (10 bytes if < 0). */
static void put_int32(struct wbuf *w, uint32_t field, int32_t v)
{
	put_key(w, field, 0);
	put_varint(w, (uint64_t)(int64_t)v);
}

static void put_bool(struct wbuf *w, uint32_t field, int v)
{
	put_key(w, field, 0);
	put_varint(w, v ? 1 : 0);
}

static void put_bytes(struct wbuf *w, uint32_t field, const void *data, size_t n)
{
	put_key(w, field, 2);
	put_varint(w, n);
	for (size_t i = 0; i < n; i++)
		put_byte(w, ((const uint8_t *)data)[i]);
}

int criu_rpc_encode_dump_req(const struct criu_dump_opts *o, uint8_t *buf, size_t cap)
{
	uint8_t opts[1024];
	struct wbuf ow = { opts, 0, sizeof(opts), 0 };
	struct wbuf w = { buf, 0, cap, 0 };

	/* message criu_opts, fields in ascending order */
	put_int32(&ow, 1, o->images_dir_fd);
	if (o->leave_running)
		put_bool(&ow, 3, 1);
	if (o->shell_job)
		put_bool(&ow, 7, 1);
	put_int32(&ow, 9, o->log_level);
	if (o->log_file)
		put_bytes(&ow, 10, o->log_file, strlen(o->log_file));
	if (o->config_file)
		put_bytes(&ow, 51, o->config_file, strlen(o->config_file));
	if (o->unprivileged)
		put_bool(&ow, 67, 1);
	if (ow.overflow)
		return -1;

	/* message criu_req */
	put_int32(&w, 1, CRIU_REQ_DUMP);
	put_bytes(&w, 2, opts, ow.len);
	return w.overflow ? -1 : (int)w.len;
}

/* ------------------------------------------------------------ decoding */

struct rbuf {
	const uint8_t *p, *end;
};

static int get_varint(struct rbuf *r, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return -1;
		uint8_t b = *r->p++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* Skip a field of the given wire type; for type 2, *sub gets the payload. */
static int get_value(struct rbuf *r, uint32_t wt, uint64_t *v, struct rbuf *sub)
{
	switch (wt) {
	case 0:
		return get_varint(r, v);
	case 1:
		if (r->end - r->p < 8)
			return -1;
		r->p += 8;
		return 0;
	case 5:
		if (r->end - r->p < 4)
			return -1;
		r->p += 4;
		return 0;
	case 2: {
		uint64_t n;
		if (get_varint(r, &n) || n > (uint64_t)(r->end - r->p))
			return -1;
		if (sub) {
			sub->p = r->p;
			sub->end = r->p + n;
		}
		r->p += n;
		return 0;
	}
	default: /* groups (3, 4) are not used by rpc.proto */
		return -1;
	}
}

/* Iterate the fields of one message: returns 1 with field, wt, v and sub set,
 * 0 at the end, -1 on malformed input. */
static int next_field(struct rbuf *r, uint32_t *field, uint32_t *wt, uint64_t *v, struct rbuf *sub)
{
	uint64_t key;
	if (r->p >= r->end)
		return 0;
	if (get_varint(r, &key))
		return -1;
	*field = (uint32_t)(key >> 3);
	*wt = (uint32_t)(key & 7);
	*v = 0;
	sub->p = sub->end = NULL;
	if (get_value(r, *wt, v, sub))
		return -1;
	return 1;
}

int criu_rpc_decode_resp(const uint8_t *buf, size_t len, struct criu_resp *out)
{
	struct rbuf r = { buf, buf + len }, sub, sub2;
	uint32_t f, wt;
	uint64_t v;
	int rc;

	memset(out, 0, sizeof(*out));
	while ((rc = next_field(&r, &f, &wt, &v, &sub)) == 1) {
		switch (f) {
		case 1: /* type */
			if (wt == 0)
				out->type = (int32_t)v;
			break;
		case 2: /* success */
			if (wt == 0)
				out->success = v != 0;
			break;
		case 3: /* dump: criu_dump_resp { optional bool restored = 1; } */
			if (wt != 2)
				break;
			out->has_dump = 1;
			while ((rc = next_field(&sub, &f, &wt, &v, &sub2)) == 1)
				if (f == 1 && wt == 0)
					out->dump_restored = v != 0;
			if (rc < 0)
				return -1;
			break;
		case 7: /* cr_errno */
			if (wt == 0) {
				out->has_cr_errno = 1;
				out->cr_errno = (int32_t)v;
			}
			break;
		case 9: /* cr_errmsg */
			if (wt == 2) {
				size_t n = (size_t)(sub.end - sub.p);
				if (n >= sizeof(out->cr_errmsg))
					n = sizeof(out->cr_errmsg) - 1;
				memcpy(out->cr_errmsg, sub.p, n);
				out->cr_errmsg[n] = 0;
			}
			break;
		default:
			break;
		}
	}
	return rc < 0 ? -1 : 0;
}
