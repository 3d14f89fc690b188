/*
 * files.h - what the files of an image directory are, by name (src/image/layout.ts, whose names
 * crac/layout.h holds).
 */
#ifndef CRAC_IMAGE_FILES_H
#define CRAC_IMAGE_FILES_H

/* Not sealed: the manifest, CRIU's logs and statistics (layout.ts UNSEALED_FILES). */
int unsealed_file(const char *name);
/* What a dump leaves in an image directory (layout.ts isDumpFile). */
int dump_file(const char *name);

#endif
