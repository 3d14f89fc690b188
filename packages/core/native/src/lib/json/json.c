/*
 * json.c - see json.h. RFC 8259 grammar; what it refuses says where (byte offset).
 */
#define _GNU_SOURCE
#include "json/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_NODES 256

struct json_block {
	struct json_block *next;
	size_t used;
	struct json nodes[BLOCK_NODES];
};

struct parser {
	char *p, *end, *start;
	struct json_arena *arena;
	char *why;
	size_t why_len;
	int failed;
};

static void fail(struct parser *ps, const char *fmt, ...)
{
	if (ps->failed)
		return;
	ps->failed = 1;
	char reason[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(ps->why, ps->why_len, "%s at byte %ld", reason, (long)(ps->p - ps->start));
}

static struct json *node(struct parser *ps, enum json_type type)
{
	struct json_block *b = ps->arena->blocks;
	if (!b || b->used == BLOCK_NODES) {
		b = malloc(sizeof(*b));
		if (!b) {
			fail(ps, "out of memory");
			return NULL;
		}
		b->next = ps->arena->blocks;
		b->used = 0;
		ps->arena->blocks = b;
	}
	struct json *n = &b->nodes[b->used++];
	memset(n, 0, sizeof(*n));
	n->type = type;
	return n;
}

static void skip_space(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int hex4(struct parser *ps, unsigned *out)
{
	if (ps->end - ps->p < 4) {
		fail(ps, "truncated \\u escape");
		return -1;
	}
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = *ps->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else {
			fail(ps, "bad \\u escape");
			return -1;
		}
	}
	*out = v;
	return 0;
}

static char *put_utf8(char *w, unsigned cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xc0 | cp >> 6);
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xe0 | cp >> 12);
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xf0 | cp >> 18);
		*w++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	return w;
}

/* At the opening quote. Decodes in place (the decoded text is never longer); returns its start. */
static const char *string(struct parser *ps)
{
	char *w = ++ps->p, *out = w;
	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p;
		if (c == '"') {
			ps->p++;
			*w = '\0'; /* w <= the closing quote's position */
			return out;
		}
		if (c < 0x20) {
			fail(ps, "control character in a string");
			return NULL;
		}
		if (c != '\\') {
			*w++ = *ps->p++;
			continue;
		}
		if (++ps->p >= ps->end)
			break;
		char e = *ps->p++;
		switch (e) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '/': *w++ = '/'; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			unsigned cp;
			if (hex4(ps, &cp) != 0)
				return NULL;
			if (cp >= 0xd800 && cp < 0xdc00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
				unsigned low;
				ps->p += 2;
				if (hex4(ps, &low) != 0)
					return NULL;
				if (low >= 0xdc00 && low < 0xe000)
					cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
				else
					w = put_utf8(w, 0xfffd), cp = low;
			}
			/* 6 bytes of escape never decode to more than 4 */
			w = put_utf8(w, cp);
			break;
		}
		default:
			fail(ps, "bad escape \\%c", e);
			return NULL;
		}
	}
	fail(ps, "unterminated string");
	return NULL;
}

static int digits(struct parser *ps)
{
	char *from = ps->p;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	return ps->p > from;
}

/* RFC 8259's number, as JSON.parse reads it: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int number(struct parser *ps, double *out)
{
	char *s = ps->p;
	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') {
		fail(ps, "unexpected character");
		return -1;
	}
	int ok = 1;
	if (*ps->p == '0')
		ps->p++; /* no leading zeros: "01" ends after the 0, and the 1 is refused */
	else
		digits(ps);
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		ok = digits(ps);
	}
	if (ok && ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		ok = digits(ps);
	}
	if (!ok) {
		fail(ps, "bad number");
		return -1;
	}
	char buf[400];
	size_t n = (size_t)(ps->p - s);
	if (n >= sizeof(buf)) {
		ps->p = s;
		fail(ps, "number too long");
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	/* the grammar is checked: strtod reads all of it (a value out of range is +-HUGE_VAL or 0, as JSON.parse's Infinity) */
	*out = strtod(buf, NULL);
	return 0;
}

static int literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
		fail(ps, "unexpected character");
		return -1;
	}
	ps->p += n;
	return 0;
}

static struct json *value(struct parser *ps, int depth);

/* At '[' or '{'. */
static struct json *container(struct parser *ps, int depth, int is_object)
{
	if (depth >= JSON_MAX_DEPTH) {
		fail(ps, "nested deeper than %d", JSON_MAX_DEPTH);
		return NULL;
	}
	struct json *c = node(ps, is_object ? JSON_OBJECT : JSON_ARRAY);
	if (!c)
		return NULL;
	char close = is_object ? '}' : ']';
	ps->p++;
	skip_space(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return c;
	}
	struct json **tail = &c->first;
	for (;;) {
		const char *key = NULL;
		skip_space(ps);
		if (is_object) {
			if (ps->p >= ps->end || *ps->p != '"') {
				fail(ps, "expected a member name");
				return NULL;
			}
			if (!(key = string(ps)))
				return NULL;
			skip_space(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				fail(ps, "expected ':'");
				return NULL;
			}
			ps->p++;
		}
		struct json *v = value(ps, depth + 1);
		if (!v)
			return NULL;
		v->key = key;
		*tail = v;
		tail = &v->next;
		c->count++;
		skip_space(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return c;
		}
		fail(ps, ps->p >= ps->end ? "unexpected end" : "expected ',' or '%c'", close);
		return NULL;
	}
}

static struct json *value(struct parser *ps, int depth)
{
	skip_space(ps);
	if (ps->p >= ps->end) {
		fail(ps, "unexpected end");
		return NULL;
	}
	struct json *v;
	switch (*ps->p) {
	case '{':
		return container(ps, depth, 1);
	case '[':
		return container(ps, depth, 0);
	case '"': {
		const char *s = string(ps);
		if (!s || !(v = node(ps, JSON_STRING)))
			return NULL;
		v->string = s;
		return v;
	}
	case 't':
		return literal(ps, "true") == 0 ? node(ps, JSON_TRUE) : NULL;
	case 'f':
		return literal(ps, "false") == 0 ? node(ps, JSON_FALSE) : NULL;
	case 'n':
		return literal(ps, "null") == 0 ? node(ps, JSON_NULL) : NULL;
	default: {
		double d;
		if (number(ps, &d) != 0 || !(v = node(ps, JSON_NUMBER)))
			return NULL;
		v->number = d;
		return v;
	}
	}
}

struct json *json_parse(char *text, size_t len, struct json_arena *arena, char *why, size_t why_len)
{
	struct parser ps = { .p = text, .end = text + len, .start = text, .arena = arena, .why = why, .why_len = why_len };
	struct json *root = value(&ps, 0);
	if (root) {
		skip_space(&ps);
		if (ps.p != ps.end) {
			fail(&ps, "unexpected text after the end");
			root = NULL;
		}
	}
	return root;
}

void json_free(struct json_arena *arena)
{
	while (arena->blocks) {
		struct json_block *next = arena->blocks->next;
		free(arena->blocks);
		arena->blocks = next;
	}
}

const struct json *json_get(const struct json *object, const char *key)
{
	if (!object || object->type != JSON_OBJECT)
		return NULL;
	const struct json *found = NULL;
	for (const struct json *m = object->first; m; m = m->next)
		if (strcmp(m->key, key) == 0)
			found = m; /* the last one wins, as JSON.parse */
	return found;
}

const char *json_string(const struct json *node)
{
	return node && node->type == JSON_STRING ? node->string : NULL;
}

int json_number(const struct json *node, double *out)
{
	if (!node || node->type != JSON_NUMBER)
		return 0;
	*out = node->number;
	return 1;
}
