/* options.c - crac-restore's command line, as commander parses `crac restore`: the same help and messages. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/exit_codes.h"
#include "restore.h"

static const char HELP[] =
	"Usage: crac restore [options] <dir>\n"
	"\n"
	"restore an image in the foreground; exits with the app's exit code (125: the\n"
	"restore failed)\n"
	"\n"
	"Arguments:\n"
	"  dir                     the image directory\n"
	"\n"
	"Options:\n"
	"  --pid-namespace <mode>  restore in a new pid namespace (auto: always, except\n"
	"                          an image checkpointed on a terminal) (choices: \"auto\",\n"
	"                          \"always\", \"never\", default: \"auto\")\n"
	"  --verify <mode>         hash only the image files touched since the\n"
	"                          checkpoint, or all of them (choices: \"quick\", \"full\",\n"
	"                          default: \"quick\")\n"
	"  --memory <mode>         an image with a working set (crac checkpoint\n"
	"                          --working-set): its pages first, the rest in the\n"
	"                          background (auto), or every page before the app\n"
	"                          resumes (eager) (choices: \"auto\", \"eager\",\n"
	"                          default: \"auto\")\n"
	"  --json                  print the result as one JSON line on stdout once\n"
	"                          restored (default: false)\n"
	"  -h, --help              display help for command\n";

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "crac: error: %s\n", buf);
	exit(EXIT_USAGE);
}

void parse_options(int argc, char **argv, struct options *o)
{
	int positional = 0, only_arguments = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_arguments || a[0] != '-' || a[1] == '\0') {
			if (positional++ == 0)
				o->dir = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_arguments = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(HELP, stdout);
			exit(0);
		}
		if (strcmp(a, "--json") == 0) {
			o->json = 1;
			continue;
		}
		if (strcmp(a, "--inspect") == 0) {
			o->inspect = 1;
			continue;
		}
		if (strcmp(a, "--init-args") == 0) {
			if (i + 1 >= argc)
				usage_error("option '--init-args <work-dir>' argument missing");
			o->init_args = argv[++i];
			continue;
		}
		if (strcmp(a, "--record-working-set") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] != '/')
				usage_error("option '--record-working-set <file>' needs an absolute path");
			o->record = argv[++i];
			continue;
		}
		const char *name = NULL, *value = NULL, *choices = NULL;
		size_t len = 0;
		if (strncmp(a, "--pid-namespace", 15) == 0 && (a[15] == '\0' || a[15] == '='))
			name = "--pid-namespace <mode>", len = 15, choices = "auto, always, never";
		else if (strncmp(a, "--verify", 8) == 0 && (a[8] == '\0' || a[8] == '='))
			name = "--verify <mode>", len = 8, choices = "quick, full";
		else if (strncmp(a, "--memory", 8) == 0 && (a[8] == '\0' || a[8] == '='))
			name = "--memory <mode>", len = 8, choices = "auto, eager";
		else
			usage_error("unknown option '%s'", a);
		if (a[len] == '=')
			value = a + len + 1;
		else if (i + 1 < argc)
			value = argv[++i];
		else
			usage_error("option '%s' argument missing", name);
		if (len == 15 && strcmp(value, "auto") == 0)
			o->pid_namespace = PIDNS_AUTO;
		else if (len == 15 && strcmp(value, "always") == 0)
			o->pid_namespace = PIDNS_ALWAYS;
		else if (len == 15 && strcmp(value, "never") == 0)
			o->pid_namespace = PIDNS_NEVER;
		else if (name[2] == 'v' && strcmp(value, "quick") == 0)
			o->full = 0;
		else if (name[2] == 'v' && strcmp(value, "full") == 0)
			o->full = 1;
		else if (name[2] == 'm' && strcmp(value, "auto") == 0)
			o->eager = 0;
		else if (name[2] == 'm' && strcmp(value, "eager") == 0)
			o->eager = 1;
		else
			usage_error("option '%s' argument '%s' is invalid. Allowed choices are %s.", name, value, choices);
	}
	if (positional == 0)
		usage_error("missing required argument 'dir'");
	if (positional > 1)
		usage_error("too many arguments for 'restore'. Expected 1 argument but got %d.", positional);
	if (o->record && o->eager)
		usage_error("--record-working-set records what a lazy restore serves: not with --memory eager");
}

/* path.resolve(dir): absolute and normalized by its text (`.`, `..`, `//`, a trailing `/`), symbolic links left alone. */
char *resolve_path(const char *dir)
{
	char cwd[PATH_MAX] = "/";
	if (dir[0] != '/' && !getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "%s", getenv("PWD") ? getenv("PWD") : "/");
	char *joined = NULL;
	if (asprintf(&joined, "%s/%s", dir[0] == '/' ? "" : cwd, dir) < 0)
		return NULL;
	char *out = malloc(strlen(joined) + 2);
	if (!out) {
		free(joined);
		return NULL;
	}
	size_t n = 0;
	for (char *save = NULL, *part = strtok_r(joined, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0) {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
			continue;
		}
		out[n++] = '/';
		size_t len = strlen(part);
		memcpy(out + n, part, len);
		n += len;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	free(joined);
	return out;
}

