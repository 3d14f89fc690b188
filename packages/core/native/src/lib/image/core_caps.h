/*
 * core_caps.h - the capabilities the app of an image had: CRIU's core-<tid>.img of each of its
 * threads (CoreEntry.thread_core.creds, images/core.proto and creds.proto of CRIU 4.2). CRIU's
 * restorer sets them again with capset(2), which may only keep or lower the restoring process's
 * permitted set: one the restore cannot give makes every thread stop mid-restore ("Unable to
 * restore capabilities") while CRIU waits for them, forever. Read to refuse such a restore first.
 */
#ifndef CRAC_CORE_CAPS_H
#define CRAC_CORE_CAPS_H

#include <stddef.h>
#include <stdint.h>

#include "base/crac_error.h"

struct core_caps {
	uint64_t permitted;   /* the union over every thread of the image */
	uint64_t inheritable; /* same */
};

/* From one core image's bytes (magics, then the CoreEntry behind its u32 length): 0, or -1 when malformed. */
int core_caps_parse(const uint8_t *data, size_t len, struct core_caps *caps);
/* Every core-*.img of the image directory `dir`, merged into `caps`: 0, or -1 and CRAC_EIMAGE. */
int image_core_caps(int dir, const char *dir_name, struct core_caps *caps, struct crac_error *error);

#endif
