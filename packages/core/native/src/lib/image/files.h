/*
 * files.h - what the files of an image directory are, by name (src/image/layout.ts's names,
 * crac/layout.h holds).
 */
#ifndef CRAC_IMAGE_FILES_H
#define CRAC_IMAGE_FILES_H

#include "base/crac_error.h"

/* Not sealed: the manifest, CRIU's logs and statistics (layout.ts UNSEALED_FILES). */
int unsealed_file(const char *name);
/* What a dump leaves in an image directory (layout.ts isDumpFile). */
int dump_file(const char *name);

/* A checkpoint's target: absent, or a directory of this user's holding only what a dump leaves
 * (a checkpoint replaces the whole directory). 0, or -1 with CRAC_EIMAGE naming what is wrong. */
int assert_replaceable_image_dir(const char *target, struct crac_error *error);

#endif
