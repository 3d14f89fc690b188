/*
 * capabilities.c - CRIU for a non-root user, from the one implementation (lib/criu/capabilities.c)
 * crac-restore checks with: decodeFileCapabilities(bytes), fileCapabilities(path),
 * capabilityName(bit), processPrivileges(status?), criuRunsUnprivileged(euid, status?),
 * criuCapabilityProblem(path, euid, status?, xattr?). A `status` is the text of a
 * /proc/PID/status (this process's when absent), an `xattr` the raw `security.capability`
 * (the file's own when undefined, none when null): tests pass their own.
 */
#define _GNU_SOURCE
#include "exports.h"

#include <stdlib.h>
#include <string.h>

#include "criu/capabilities.h"

/* The names of the bits set in `set`. */
static napi_value names_of(napi_env env, uint64_t set)
{
	napi_value array;
	if (napi_create_array(env, &array) != napi_ok)
		return NULL;
	uint32_t n = 0;
	for (int bit = 0; bit < 64; bit++) {
		char buf[16];
		if (set >> bit & 1)
			napi_set_element(env, array, n++, make_string(env, capability_name(bit, buf, sizeof(buf))));
	}
	return array;
}

static napi_value caps_object(napi_env env, const struct file_caps *caps)
{
	napi_value object;
	if (!caps->present)
		return napi_get_null(env, &object) == napi_ok ? object : NULL;
	if (napi_create_object(env, &object) != napi_ok)
		return NULL;
	set_prop(env, object, "permitted", names_of(env, caps->permitted));
	set_prop(env, object, "inheritable", names_of(env, caps->inheritable));
	napi_value effective;
	napi_get_boolean(env, caps->effective != 0, &effective);
	set_prop(env, object, "effective", effective);
	if (caps->has_root_uid)
		set_int(env, object, "rootUid", caps->root_uid);
	return object;
}

/* Argument `index`: undefined/absent (0), null (1), or a Buffer (2, its bytes in *data, *len). */
static int optional_buffer(napi_env env, napi_value *argv, size_t argc, size_t index, void **data, size_t *len)
{
	napi_valuetype type = napi_undefined;
	if (index >= argc || napi_typeof(env, argv[index], &type) != napi_ok || type == napi_undefined)
		return 0;
	if (type == napi_null)
		return 1;
	bool is_buffer = false;
	if (napi_is_buffer(env, argv[index], &is_buffer) != napi_ok || !is_buffer ||
	    napi_get_buffer_info(env, argv[index], data, len) != napi_ok)
		return -1;
	return 2;
}

/* Argument `index` as a malloc'd string; NULL when undefined or absent (or not a string: -1 in *bad). */
static char *optional_string(napi_env env, napi_value *argv, size_t argc, size_t index, int *bad)
{
	napi_valuetype type = napi_undefined;
	size_t len = 0;
	if (index >= argc || napi_typeof(env, argv[index], &type) != napi_ok || type == napi_undefined || type == napi_null)
		return NULL;
	char *s = NULL;
	if (type != napi_string || napi_get_value_string_utf8(env, argv[index], NULL, 0, &len) != napi_ok ||
	    !(s = malloc(len + 1)) || napi_get_value_string_utf8(env, argv[index], s, len + 1, &len) != napi_ok) {
		free(s);
		*bad = 1;
		return NULL;
	}
	return s;
}

napi_value js_decode_file_capabilities(napi_env env, napi_callback_info info)
{
	size_t argc = 1, len = 0;
	napi_value argv[1];
	void *data = NULL;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || optional_buffer(env, argv, argc, 0, &data, &len) != 2)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "decodeFileCapabilities(): %s", "a Buffer is required");
	struct file_caps caps;
	struct crac_error error = { 0 };
	if (decode_file_caps(data, len, &caps, &error) != 0)
		return throw_crac_error(env, &error);
	return caps_object(env, &caps);
}

napi_value js_file_capabilities(napi_env env, napi_callback_info info)
{
	char *path = NULL;
	if (get_string_arg(env, info, 0, "fileCapabilities()", &path) != 0)
		return NULL;
	struct file_caps caps;
	struct crac_error error = { 0 };
	int failed = read_file_caps(path, &caps, &error) != 0;
	free(path);
	return failed ? throw_crac_error(env, &error) : caps_object(env, &caps);
}

napi_value js_capability_name(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	int32_t bit = -1;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
	    napi_get_value_int32(env, argv[0], &bit) != napi_ok || bit < 0)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "capabilityName(): %s", "a capability number is required");
	char buf[16];
	return make_string(env, capability_name(bit, buf, sizeof(buf)));
}

napi_value js_process_privileges(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], object, flag;
	int bad = 0;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return NULL;
	char *status = optional_string(env, argv, argc, 0, &bad);
	if (bad)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "processPrivileges(): %s", "status must be a string");
	struct privileges p = privileges_of(status ? status : NULL);
	free(status);
	if (napi_create_object(env, &object) != napi_ok)
		return NULL;
	napi_value effective;
	if (p.caps_known)
		effective = names_of(env, p.effective);
	else
		napi_get_null(env, &effective);
	set_prop(env, object, "effective", effective);
	napi_get_boolean(env, p.no_new_privs != 0, &flag);
	set_prop(env, object, "noNewPrivs", flag);
	return object;
}

napi_value js_criu_runs_unprivileged(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], result;
	uint32_t euid = 0;
	int bad = 0;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
	    napi_get_value_uint32(env, argv[0], &euid) != napi_ok)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "criuRunsUnprivileged(): %s", "an effective uid is required");
	char *status = optional_string(env, argv, argc, 1, &bad);
	if (bad)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "criuRunsUnprivileged(): %s", "status must be a string");
	struct privileges p = privileges_of(status);
	free(status);
	napi_get_boolean(env, runs_unprivileged((uid_t)euid, &p) != 0, &result);
	return result;
}

napi_value js_criu_capability_problem(napi_env env, napi_callback_info info)
{
	size_t argc = 4, len = 0;
	napi_value argv[4], result = NULL;
	uint32_t euid = 0;
	void *xattr = NULL;
	int bad = 0;
	char *path = NULL, *status = NULL;
	if (get_string_arg(env, info, 0, "criuCapabilityProblem()", &path) != 0)
		return NULL;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
	    napi_get_value_uint32(env, argv[1], &euid) != napi_ok) {
		throw_type_error(env, "ERR_INVALID_ARG_TYPE", "criuCapabilityProblem(): %s", "an effective uid is required");
		goto out;
	}
	status = optional_string(env, argv, argc, 2, &bad);
	int given = optional_buffer(env, argv, argc, 3, &xattr, &len);
	if (bad || given < 0) {
		throw_type_error(env, "ERR_INVALID_ARG_TYPE", "criuCapabilityProblem(): %s", "status a string, xattr a Buffer or null");
		goto out;
	}
	struct privileges p = privileges_of(status);
	struct file_caps file = { 0 };
	struct crac_error error = { 0 };
	int failed = 0;
	if (given == 2)
		failed = decode_file_caps(xattr, len, &file, &error) != 0;
	else if (given == 0 && euid != 0 && !p.no_new_privs)
		failed = read_file_caps(path, &file, &error) != 0;
	if (failed) {
		throw_crac_error(env, &error);
		goto out;
	}
	char missing[256] = "";
	if (criu_capability_problem(path, (uid_t)euid, &p, &file, missing, sizeof(missing), &error) == 0) {
		napi_get_null(env, &result);
		goto out;
	}
	napi_value list;
	napi_create_array(env, &list);
	uint32_t n = 0;
	for (char *save = NULL, *name = strtok_r(missing, ",", &save); name; name = strtok_r(NULL, ",", &save))
		napi_set_element(env, list, n++, make_string(env, name));
	napi_create_object(env, &result);
	set_str(env, result, "code", error.code);
	set_str(env, result, "message", error.message);
	set_prop(env, result, "missing", list);
out:
	free(path);
	free(status);
	return result;
}
