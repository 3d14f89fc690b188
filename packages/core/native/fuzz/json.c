/* json.c - libFuzzer target: the JSON reader (lib/json) on any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exactly `size` bytes: the reader must not look past them */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	struct json_arena arena = { 0 };
	char why[200];
	struct json *root = json_parse(text, size, &arena, why, sizeof(why));
	if (root) {
		/* walk what was read, as the readers do */
		double d;
		json_number(root, &d);
		json_string(json_get(root, "format"));
	}
	json_free(&arena);
	free(text);
	return 0;
}
