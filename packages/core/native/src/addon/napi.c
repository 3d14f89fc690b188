/*
 * napi.c - the N-API helpers of crac.node; see napi_util.h.
 */
#define _GNU_SOURCE
#include "napi_util.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void throw_last_napi_error(napi_env env)
{
	const napi_extended_error_info *info = NULL;
	bool pending = false;
	napi_is_exception_pending(env, &pending);
	if (pending)
		return;
	napi_get_last_error_info(env, &info);
	napi_throw_error(env, CRAC_ENAPI, info && info->error_message ? info->error_message : "N-API call failed");
}

napi_value make_string(napi_env env, const char *s)
{
	napi_value v = NULL;
	napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
	return v;
}

void set_prop(napi_env env, napi_value obj, const char *name, napi_value v)
{
	if (v)
		napi_set_named_property(env, obj, name, v);
}

void set_int(napi_env env, napi_value obj, const char *name, int64_t n)
{
	napi_value v = NULL;
	napi_create_int64(env, n, &v);
	set_prop(env, obj, name, v);
}

void set_str(napi_env env, napi_value obj, const char *name, const char *s)
{
	set_prop(env, obj, name, make_string(env, s));
}

napi_value make_error(napi_env env, int type_error, const char *code, const char *msg)
{
	napi_value err = NULL;
	napi_value c = make_string(env, code), m = make_string(env, msg);
	if (type_error)
		napi_create_type_error(env, c, m, &err);
	else
		napi_create_error(env, c, m, &err);
	return err;
}

napi_value throw_type_error(napi_env env, const char *code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	napi_throw(env, make_error(env, 1, code, msg));
	return NULL;
}

napi_value throw_sys_error(napi_env env, const char *code, int err, const char *syscall_name, const char *what,
			   const char *path)
{
	char msg[PATH_MAX + 256];
	snprintf(msg, sizeof(msg), "%s: %s (%s%s%s)", what, strerror(err), syscall_name, path ? " " : "",
		 path ? path : "");
	napi_value e = make_error(env, 0, code, msg);
	set_int(env, e, "errno", err);
	set_str(env, e, "syscall", syscall_name);
	if (path)
		set_str(env, e, "path", path);
	napi_throw(env, e);
	return NULL;
}

/* Read a property; returns 1 if present (not undefined/null), 0 if absent, -1 on error. */
static int get_prop(napi_env env, napi_value obj, const char *name, napi_value *out)
{
	napi_valuetype t;
	if (napi_get_named_property(env, obj, name, out) != napi_ok)
		return -1;
	if (napi_typeof(env, *out, &t) != napi_ok)
		return -1;
	return (t == napi_undefined || t == napi_null) ? 0 : 1;
}

int get_string_opt(napi_env env, napi_value obj, const char *fn, const char *name, int required, char **out)
{
	napi_value v;
	napi_valuetype t;
	size_t len = 0;
	int r = get_prop(env, obj, name, &v);
	*out = NULL;
	if (r < 0)
		return throw_last_napi_error(env), -1;
	if (r == 0) {
		if (required)
			return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "%s(): options.%s must be a string", fn,
						name),
			       -1;
		return 0;
	}
	napi_typeof(env, v, &t);
	if (t != napi_string)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "%s(): options.%s must be a string", fn, name),
		       -1;
	napi_get_value_string_utf8(env, v, NULL, 0, &len);
	*out = malloc(len + 1);
	if (!*out)
		return napi_throw_error(env, CRAC_ENOMEM, "out of memory"), -1;
	napi_get_value_string_utf8(env, v, *out, len + 1, &len);
	if (strlen(*out) != len) {
		free(*out);
		*out = NULL;
		return throw_type_error(env, "ERR_INVALID_ARG_VALUE", "%s(): options.%s must not contain NUL characters",
					fn, name),
		       -1;
	}
	return 0;
}

void free_string_array(char **strings, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(strings[i]);
	free(strings);
}

int get_string_array_opt(napi_env env, napi_value obj, const char *fn, const char *name, char ***out, size_t *count)
{
	napi_value v;
	bool is_array = false;
	uint32_t len = 0;
	int r = get_prop(env, obj, name, &v);
	*out = NULL;
	*count = 0;
	if (r < 0)
		return throw_last_napi_error(env), -1;
	if (r == 0)
		return 0;
	if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, &len) != napi_ok)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "%s(): options.%s must be an array of strings",
					fn, name),
		       -1;
	char **strings = calloc(len ? len : 1, sizeof(*strings));
	if (!strings)
		return napi_throw_error(env, CRAC_ENOMEM, "out of memory"), -1;
	for (uint32_t i = 0; i < len; i++) {
		napi_value element;
		napi_valuetype t;
		size_t n = 0;
		if (napi_get_element(env, v, i, &element) != napi_ok || napi_typeof(env, element, &t) != napi_ok ||
		    t != napi_string) {
			free_string_array(strings, i);
			return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "%s(): options.%s must be an array of strings",
						fn, name),
			       -1;
		}
		napi_get_value_string_utf8(env, element, NULL, 0, &n);
		strings[i] = malloc(n + 1);
		if (!strings[i]) {
			free_string_array(strings, i);
			return napi_throw_error(env, CRAC_ENOMEM, "out of memory"), -1;
		}
		napi_get_value_string_utf8(env, element, strings[i], n + 1, &n);
		if (strlen(strings[i]) != n) {
			free_string_array(strings, i + 1);
			return throw_type_error(env, "ERR_INVALID_ARG_VALUE",
						"%s(): options.%s must not contain NUL characters", fn, name),
			       -1;
		}
	}
	*out = strings;
	*count = len;
	return 0;
}

int get_bool_opt(napi_env env, napi_value obj, const char *fn, const char *name, int *out)
{
	napi_value v;
	napi_valuetype t;
	bool b = false;
	int r = get_prop(env, obj, name, &v);
	if (r < 0)
		return throw_last_napi_error(env), -1;
	if (r == 0)
		return 0; /* keep the default */
	napi_typeof(env, v, &t);
	if (t != napi_boolean)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "%s(): options.%s must be a boolean", fn, name),
		       -1;
	napi_get_value_bool(env, v, &b);
	*out = b;
	return 0;
}

int get_uint_opt(napi_env env, napi_value obj, const char *fn, const char *name, uint32_t lo, uint32_t hi, uint32_t *out)
{
	napi_value v;
	napi_valuetype t;
	double d = 0;
	int r = get_prop(env, obj, name, &v);
	if (r < 0)
		return throw_last_napi_error(env), -1;
	if (r == 0)
		return 0; /* keep the default */
	napi_typeof(env, v, &t);
	if (t != napi_number || napi_get_value_double(env, v, &d) != napi_ok || d != (double)(uint32_t)d || d < lo || d > hi)
		return throw_type_error(env, "ERR_INVALID_ARG_VALUE", "%s(): options.%s must be a whole number in range", fn, name),
		       -1;
	*out = (uint32_t)d;
	return 0;
}

napi_value throw_crac_error(napi_env env, const struct crac_error *error)
{
	napi_throw(env, make_error(env, 0, error->code, error->message));
	return NULL;
}

int get_string_arg(napi_env env, napi_callback_info info, size_t index, const char *fn, char **out)
{
	size_t argc = 8, len = 0;
	napi_value argv[8];
	*out = NULL;
	napi_valuetype type = napi_undefined;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || index >= argc ||
	    napi_typeof(env, argv[index], &type) != napi_ok || type != napi_string ||
	    napi_get_value_string_utf8(env, argv[index], NULL, 0, &len) != napi_ok || len == 0) {
		throw_type_error(env, "ERR_INVALID_ARG_TYPE", "%s: argument %zu must be a non-empty string", fn, index + 1);
		return -1;
	}
	*out = malloc(len + 1);
	if (!*out) {
		napi_throw_error(env, CRAC_ENOMEM, "out of memory");
		return -1;
	}
	napi_get_value_string_utf8(env, argv[index], *out, len + 1, &len);
	if (strlen(*out) != len) {
		free(*out);
		*out = NULL;
		throw_type_error(env, "ERR_INVALID_ARG_VALUE", "%s: argument %zu holds a NUL byte", fn, index + 1);
		return -1;
	}
	return 0;
}
