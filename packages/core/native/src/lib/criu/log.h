/*
 * log.h - what CRIU's own logs tell: the error lines of a failed dump or restore (the `Error (...)`
 * lines, without the harmless RLIMIT_NOFILE one, each without its timestamp; crac-restore reads
 * the restore's, crac.node's criuErrorLines() the dump's), and where a restore's time went, from
 * the timestamps of the lines that begin each of its phases (crac restore --json).
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

/* A phase of CRIU's restore and its duration. */
struct criu_phase {
	const char *name; /* static: setup, fork, mappings, files, restorer, memory, threads, resume */
	double ms;
};
/* The most phases criu_restore_phases() finds. */
#define CRIU_RESTORE_PHASES 8

/*
 * The phases of the restore whose log (-v4) is at `path`, in order, into `out`; the time from
 * CRIU's start to its last line into *total_ms. A phase whose first line is missing counts in the
 * one before. Returns how many: 0 when the log cannot be read or has no timestamp.
 */
size_t criu_restore_phases(const char *path, struct criu_phase out[CRIU_RESTORE_PHASES], double *total_ms);

#endif
