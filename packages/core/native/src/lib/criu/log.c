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
