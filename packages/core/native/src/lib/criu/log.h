/*
 * log.h - CRIU's own error lines of one of its logs: what a failed dump or restore says of its
 * cause (the `Error (...)` lines, without the harmless RLIMIT_NOFILE one, each without its
 * timestamp). crac-restore reads the restore's, crac.node's criuErrorLines() the dump's.
 */
#ifndef CRAC_CRIU_LOG_H
#define CRAC_CRIU_LOG_H

#include <stddef.h>

struct criu_log_errors {
	char **lines; /* malloc'd, in the log's order */
	size_t count;
};

/* The error lines of the log at `path` (none when it cannot be read); free with criu_log_errors_free(). */
struct criu_log_errors criu_log_errors(const char *path);
void criu_log_errors_free(struct criu_log_errors *errors);

#endif
