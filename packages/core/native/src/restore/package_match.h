/*
 * package_match.h - a prebuilt crac-restore refuses to run for another version of @crac/core
 * than its own (the Node side refuses such a platform package the same way: protocol/prebuilt.ts).
 */
#ifndef CRAC_PACKAGE_MATCH_H
#define CRAC_PACKAGE_MATCH_H

#include "base/crac_error.h"

/*
 * 0 when this program is not from a platform package (a build from source, in @crac/core's
 * native/build), when core_dir is NULL, or when the platform package beside this program has the
 * version of @crac/core in core_dir; else -1 and CRAC_EENGINE, naming the fix.
 */
int assert_package_matches(const char *core_dir, struct crac_error *error);

#endif
