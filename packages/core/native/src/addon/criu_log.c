/* criu_log.c - criuErrorLines(path), criuRestorePhases(path): what CRIU's logs tell (lib/criu/log.c). */
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

napi_value js_criu_restore_phases(napi_env env, napi_callback_info info)
{
	char *path = NULL;
	if (get_string_arg(env, info, 0, "criuRestorePhases()", &path) != 0)
		return NULL;
	struct criu_phase phases[CRIU_RESTORE_PHASES];
	double total = 0;
	size_t count = criu_restore_phases(path, phases, &total);
	free(path);
	napi_value result = NULL, list = NULL, ms = NULL;
	if (napi_create_object(env, &result) != napi_ok || napi_create_array_with_length(env, count, &list) != napi_ok ||
	    napi_create_double(env, total, &ms) != napi_ok || napi_set_named_property(env, result, "ms", ms) != napi_ok ||
	    napi_set_named_property(env, result, "phases", list) != napi_ok)
		return throw_last_napi_error(env), NULL;
	for (size_t i = 0; i < count; i++) {
		napi_value phase = NULL, duration = NULL;
		if (napi_create_object(env, &phase) != napi_ok || napi_create_double(env, phases[i].ms, &duration) != napi_ok ||
		    napi_set_named_property(env, phase, "phase", make_string(env, phases[i].name)) != napi_ok ||
		    napi_set_named_property(env, phase, "ms", duration) != napi_ok || napi_set_element(env, list, (uint32_t)i, phase) != napi_ok)
			return throw_last_napi_error(env), NULL;
	}
	return result;
}
