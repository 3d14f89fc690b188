/* log.c - see log.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu/log.h"

struct criu_log_errors criu_log_errors(const char *path)
{
	struct criu_log_errors errors = { NULL, 0 };
	size_t capacity = 0;
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while (f && (len = getline(&line, &cap, f)) > 0) {
		if (!strstr(line, "Error (") || strstr(line, "RLIMIT_NOFILE"))
			continue;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' ' || line[len - 1] == '\r'))
			line[--len] = '\0';
		char *text = line;
		if (text[0] == '(') { /* "(0.012345) " */
			char *close = strchr(text, ')');
			if (close && close - text < 24)
				text = close + 1;
		}
		while (*text == ' ' || *text == '\t')
			text++;
		if (errors.count == capacity) {
			size_t more = capacity ? capacity * 2 : 16;
			char **grown = realloc(errors.lines, more * sizeof(char *));
			if (!grown)
				break;
			errors.lines = grown;
			capacity = more;
		}
		char *copy = strdup(text);
		if (!copy)
			break;
		errors.lines[errors.count++] = copy;
	}
	free(line);
	if (f)
		fclose(f);
	return errors;
}

void criu_log_errors_free(struct criu_log_errors *errors)
{
	for (size_t i = 0; i < errors->count; i++)
		free(errors->lines[i]);
	free(errors->lines);
	errors->lines = NULL;
	errors->count = 0;
}

/*
 * Each phase and the line that begins it (its first one after the phase before's), as CRIU 4.2
 * logs a restore at -v4: setup (the kernel probe, the image's process tree, pre-restore scripts)
 * from its start; fork (the tasks, their namespaces and cgroups); mappings (the VMAs read,
 * premapped); files (descriptors, sockets, epoll); restorer (its blob and arguments prepared);
 * memory (in the restorer: the mappings put in place, the pages read in); threads (each one
 * restored); resume (post-restore scripts, the network unlocked, the tasks let go).
 */
static const struct {
	const char *name, *first_line;
} PHASES[CRIU_RESTORE_PHASES] = {
	{ "setup", NULL },
	{ "fork", "Forking task with" },
	{ "mappings", " VMAs in image" },
	{ "files", "Opening fdinfo-s" },
	{ "restorer", "Restore via sigreturn" },
	{ "memory", "Switched to the restorer" },
	{ "threads", "Restoring scheduler params" },
	{ "resume", "Running post-restore scripts" },
};

/* The timestamp of a line "(12.345678) ...", in ms; -1 when it has none. */
static double timestamp_ms(const char *line)
{
	if (line[0] != '(')
		return -1;
	char *end;
	double seconds = strtod(line + 1, &end);
	return end != line + 1 && *end == ')' && seconds >= 0 ? seconds * 1000 : -1;
}

size_t criu_restore_phases(const char *path, struct criu_phase out[CRIU_RESTORE_PHASES], double *total_ms)
{
	double began[CRIU_RESTORE_PHASES];
	size_t next = 1; /* the phase whose first line is looked for */
	double last = -1;
	began[0] = 0;
	for (size_t i = 1; i < CRIU_RESTORE_PHASES; i++)
		began[i] = -1;
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0) {
		double at = timestamp_ms(line);
		if (at < 0)
			continue;
		last = at;
		for (size_t i = next; i < CRIU_RESTORE_PHASES; i++)
			if (strstr(line, PHASES[i].first_line)) {
				began[i] = at;
				next = i + 1;
				break;
			}
	}
	free(line);
	if (f)
		fclose(f);
	*total_ms = last < 0 ? 0 : last;
	if (last < 0)
		return 0;
	size_t count = 0;
	for (size_t i = 0; i < CRIU_RESTORE_PHASES; i++) {
		if (began[i] < 0)
			continue;
		size_t after = i + 1;
		while (after < CRIU_RESTORE_PHASES && began[after] < 0)
			after++;
		double end = after < CRIU_RESTORE_PHASES ? began[after] : last;
		out[count++] = (struct criu_phase){ PHASES[i].name, end - began[i] };
	}
	return count;
}
