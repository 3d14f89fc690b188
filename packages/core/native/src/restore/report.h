/*
 * report.h - what crac restore says (packages/cli/src/output.ts Report, the same lines): one line
 * a phase on stderr ("crac: verify    12.3 ms  ..."; stdout belongs to the app), errors as
 * "crac: error [CODE] message", and with --json one JSON line on stdout at the end.
 */
#ifndef CRAC_REPORT_H
#define CRAC_REPORT_H

#include <stddef.h>

#include "base/crac_error.h"

void report_init(int json);
/* Whether --json was given. */
int report_json(void);
void report_phase(const char *phase, double ms, const char *detail);
void report_info(const char *message);
void report_error(const struct crac_error *error);
/* With --json: `{"ok":..., <extra>, "phases":[...], "error":{...}}` on stdout. `extra` is JSON members or "". */
void report_finish(int ok, const char *extra, const struct crac_error *error);
/* A JSON string literal of `s` into `out`. */
void json_quote(char *out, size_t len, const char *s);
/* output.ts formatBytes: "12 KiB", "3.4 MiB". */
void format_bytes(char *out, size_t len, unsigned long long bytes);

#endif
