/*
 * json.h - a small, bounded JSON reader for the files crac-node writes itself (the image
 * manifest, the digest cache). It parses a whole buffer that the caller read (and bounded)
 * into a tree whose strings are decoded in place in that buffer: no copy of the text, nesting
 * at most JSON_MAX_DEPTH deep, nodes taken from an arena freed at once.
 */
#ifndef CRAC_JSON_H
#define CRAC_JSON_H

#include <stddef.h>

#define JSON_MAX_DEPTH 32

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	const char *key;     /* member name, inside an object */
	const char *string;  /* JSON_STRING: decoded, NUL-terminated (a \u0000 ends it early) */
	double number;       /* JSON_NUMBER */
	struct json *first;  /* JSON_ARRAY / JSON_OBJECT: first element or member */
	struct json *next;   /* next sibling */
	size_t count;        /* JSON_ARRAY / JSON_OBJECT: number of elements or members */
};

struct json_arena {
	struct json_block *blocks;
};

/*
 * Parses text[0..len) (modified: strings are decoded in place; text[len] need not be NUL).
 * Returns the root, or NULL with a reason in `why`. Free the nodes with json_free().
 */
struct json *json_parse(char *text, size_t len, struct json_arena *arena, char *why, size_t why_len);
void json_free(struct json_arena *arena);

/* The member `key` of an object, or NULL (also when `object` is not an object). */
const struct json *json_get(const struct json *object, const char *key);
/* The string of `node` when it is one, else NULL. */
const char *json_string(const struct json *node);
/* 1 and the number in *out when `node` is a number, else 0. */
int json_number(const struct json *node, double *out);

#endif
