/* manifest.c - libFuzzer target: the manifest reader (lib/image/manifest.c) on any text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	memset(&m, 0, sizeof(m));
	m.text = malloc(size + 1);
	if (!m.text)
		return 0;
	memcpy(m.text, data, size);
	struct crac_error error;
	parse_manifest(&m, size, "/fuzz", &error);
	free_manifest(&m);
	return 0;
}
