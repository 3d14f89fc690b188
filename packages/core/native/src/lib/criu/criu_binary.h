/*
 * criu_binary.h - the CRIU binary crac runs (the restorer, and through crac.node's findCriu()
 * every TypeScript caller). Its paths and version come from engine/criu/binary.ts (crac/criu.h);
 * whether it can run for a non-root user is capabilities.h's.
 */
#ifndef CRAC_CRIU_BINARY_H
#define CRAC_CRIU_BINARY_H

#include <limits.h>
#include <stddef.h>

#include "base/crac_error.h"

struct criu_binary {
	char path[PATH_MAX];
	char version[32];
	const char *from; /* "env" (CRAC_CRIU_PATH), "default" or "path" */
};

/* Where to look: CRAC_CRIU_PATH's value when set (and nothing else then), else the default path,
 * then `criu` in each absolute directory of PATH and the sbin directories, each file once. */
struct criu_search {
	const char *configured;
	const char *default_path;
	const char *path_env;
	const char *const *sbin_dirs;
	size_t nsbin_dirs;
};

/* The first CRIU MIN_CRIU_VERSION or newer of `search`; -1 and CRAC_EENGINE saying what was found, and the fix. */
int find_criu_in(const struct criu_search *search, struct criu_binary *criu, struct crac_error *error);
/* find_criu_in() this process's environment and the defaults. */
int find_criu(struct criu_binary *criu, struct crac_error *error);

#endif
