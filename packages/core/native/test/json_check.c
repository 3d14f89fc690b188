/*
 * json_check.c - the JSON reader (lib/json) on the inputs given: each argument is a file whose
 * whole content is parsed; one line a file, "accepted" or "refused: <why>". Built and run by
 * src/native-json.test.ts, which holds JSON.parse's answers beside it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (!f) {
			printf("unreadable\n");
			continue;
		}
		char *text = NULL;
		size_t cap = 0;
		ssize_t len = getdelim(&text, &cap, '\0', f);
		fclose(f);
		if (len < 0)
			len = 0;
		/* a copy of exactly len bytes: the reader must not look past them */
		char *exact = malloc((size_t)len + 1);
		memcpy(exact, text ? text : "", (size_t)len);
		free(text);
		struct json_arena arena = { 0 };
		char why[200] = "";
		struct json *root = json_parse(exact, (size_t)len, &arena, why, sizeof(why));
		printf(root ? "accepted\n" : "refused: %s\n", why);
		json_free(&arena);
		free(exact);
	}
	return 0;
}
