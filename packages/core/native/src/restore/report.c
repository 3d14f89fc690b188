/*
 * report.c - see report.h.
 */
#define _GNU_SOURCE
#include "report.h"
#include "base/write_all.h"
#include "crac/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int json_mode;
static int color;
static char phases[4096] = ""; /* the JSON array's members */

void report_init(int json)
{
	json_mode = json;
	const char *no_color = getenv("NO_COLOR");
	color = isatty(2) && !(no_color && *no_color);
}

void json_quote(char *out, size_t len, const char *s)
{
	size_t n = 0;
	if (len < 3)
		return;
	out[n++] = '"';
	for (; *s && n + 8 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else if (c == '\t') {
			out[n++] = '\\';
			out[n++] = 't';
		} else if (c < 0x20) {
			n += (size_t)snprintf(out + n, len - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n++] = '"';
	out[n] = '\0';
}

/* A number as JSON.stringify writes Math.round(ms * 10) / 10: "12.3", "12". */
static void tenths(char *out, size_t len, double ms)
{
	snprintf(out, len, "%.1f", ms);
	size_t n = strlen(out);
	if (n > 2 && strcmp(out + n - 2, ".0") == 0)
		out[n - 2] = '\0';
}

int report_json(void)
{
	return json_mode;
}

void report_phase(const char *phase, double ms, const char *detail)
{
	char quoted_phase[64], quoted_detail[1024], number[32];
	json_quote(quoted_phase, sizeof(quoted_phase), phase);
	json_quote(quoted_detail, sizeof(quoted_detail), detail ? detail : "");
	tenths(number, sizeof(number), ms);
	size_t n = strlen(phases);
	snprintf(phases + n, sizeof(phases) - n, "%s{\"phase\":%s,\"ms\":%s%s%s}", n ? "," : "", quoted_phase, number,
		 detail && *detail ? ",\"detail\":" : "", detail && *detail ? quoted_detail : "");
	if (json_mode)
		return;
	char line[1200];
	snprintf(line, sizeof(line), REPORT_PREFIX "%s%-*s%s %*.1f ms%s%s\n", color ? REPORT_PHASE_COLOR : "", REPORT_PHASE_WIDTH, phase,
		 color ? "\x1b[0m" : "", REPORT_MS_WIDTH, ms, detail && *detail ? "  " : "", detail ? detail : "");
	(void)write_all(2, line, strlen(line));
}

void report_info(const char *message)
{
	if (json_mode)
		return;
	char *line = NULL;
	if (asprintf(&line, REPORT_PREFIX "%s\n", message) > 0)
		(void)write_all(2, line, strlen(line));
	free(line);
}

void report_error(const struct crac_error *error)
{
	if (json_mode)
		return;
	char *line = NULL;
	if (asprintf(&line, REPORT_PREFIX "%serror%s [%s] %s\n", color ? REPORT_ERROR_COLOR : "", color ? "\x1b[0m" : "", error->code,
		     error->message) > 0)
		(void)write_all(2, line, strlen(line));
	free(line);
}

void report_finish(int ok, const char *extra, const struct crac_error *error)
{
	if (!json_mode)
		return;
	static char code[64], message[sizeof(error->message) * 2];
	char *line = NULL;
	if (error) {
		json_quote(code, sizeof(code), error->code);
		json_quote(message, sizeof(message), error->message);
	}
	if (asprintf(&line, "{\"ok\":%s%s%s,\"phases\":[%s]%s%s%s%s%s}\n", ok ? "true" : "false", extra && *extra ? "," : "",
		     extra ? extra : "", phases, error ? ",\"error\":{\"code\":" : "", error ? code : "", error ? ",\"message\":" : "",
		     error ? message : "", error ? "}" : "") > 0)
		(void)write_all(1, line, strlen(line));
	free(line);
}

void format_bytes(char *out, size_t len, unsigned long long bytes)
{
	if (bytes > (1ULL << 20))
		snprintf(out, len, "%.1f MiB", (double)bytes / (1 << 20));
	else
		snprintf(out, len, "%.0f KiB", (double)bytes / 1024);
}
