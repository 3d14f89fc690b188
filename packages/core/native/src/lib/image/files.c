/* files.c - see files.h. */
#include <string.h>

#include "crac/layout.h"
#include "image/files.h"

int unsealed_file(const char *name)
{
	static const char *const unsealed[] = UNSEALED_FILES;
	for (size_t i = 0; i < sizeof(unsealed) / sizeof(unsealed[0]); i++)
		if (strcmp(name, unsealed[i]) == 0)
			return 1;
	return 0;
}

int dump_file(const char *name)
{
	size_t n = strlen(name);
	if (unsealed_file(name) || strcmp(name, HANDOFF_FILE) == 0 || strcmp(name, SEAL_CONFIG_FILE) == 0)
		return 1;
	if (n > 4 && strcmp(name + n - 4, ".img") == 0)
		return 1;
	size_t slot = strlen(LISTEN_SLOT_PREFIX);
	if (n > slot && strncmp(name, LISTEN_SLOT_PREFIX, slot) == 0) {
		for (size_t i = slot; i < n; i++)
			if (name[i] < '0' || name[i] > '9')
				return 0;
		return 1;
	}
	/* crac-manifest.json.<digits>.tmp */
	size_t prefix = strlen(MANIFEST_FILE) + 1;
	if (n > prefix + 4 && strncmp(name, MANIFEST_FILE ".", prefix) == 0 && strcmp(name + n - 4, ".tmp") == 0) {
		for (size_t i = prefix; i < n - 4; i++)
			if (name[i] < '0' || name[i] > '9')
				return 0;
		return 1;
	}
	return 0;
}
