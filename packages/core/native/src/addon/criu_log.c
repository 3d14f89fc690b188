/* criu_log.c - criuErrorLines(path): CRIU's own error lines of a log (lib/criu/log.c). */
#define _GNU_SOURCE
#include "exports.h"

#include <stdlib.h>

#include "criu/log.h"

napi_value js_criu_error_lines(napi_env env, napi_callback_info info)
{
	char *path = NULL;
	if (get_string_arg(env, info, 0, "criuErrorLines()", &path) != 0)
		return NULL;
	struct criu_log_errors errors = criu_log_errors(path);
	free(path);
	napi_value lines = NULL;
	if (napi_create_array_with_length(env, errors.count, &lines) != napi_ok)
		lines = NULL;
	for (size_t i = 0; lines && i < errors.count; i++)
		if (napi_set_element(env, lines, (uint32_t)i, make_string(env, errors.lines[i])) != napi_ok)
			lines = NULL;
	criu_log_errors_free(&errors);
	if (!lines)
		throw_last_napi_error(env);
	return lines;
}
