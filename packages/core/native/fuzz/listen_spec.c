/* listen_spec.c - libFuzzer target: crac-init's `--listen` spec parser (lib/supervise/listen_slots.c),
 * and that what it reads is written back the same (listen_spec_format). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervise/listen_slots.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	struct listen_spec l;
	if (listen_spec_parse(spec, &l) == 0) {
		char text[8192];
		struct listen_spec again;
		if (listen_spec_format(&l, text, sizeof(text)) == 0) {
			char *copy = strdup(text);
			if (copy && listen_spec_parse(copy, &again) != 0)
				abort(); /* what the writer writes, the reader must read */
			free(copy);
		}
	}
	free(spec);
	return 0;
}
