/*
 * napi_util.h - the N-API helpers the exports of crac.node share: Errors
 * that always carry a .code (JS checks codes, never bare numbers), property
 * setters, and option getters that name the offending option.
 *
 * Every addon source includes node_api.h through this header, so that all of
 * them see the same NAPI_VERSION: 8, the ABI-stable level that lets one build
 * load in every Node >= 20.
 */
#ifndef CRAC_NAPI_UTIL_H
#define CRAC_NAPI_UTIL_H

#define NAPI_VERSION 8
#include <node_api.h>

#include <stdint.h>

#include "base/crac_error.h"
#include "crac/codes.h"

/* In a JS callback: on a failed N-API call, throw (unless pending) and return NULL. */
#define NAPI_CALL(env, call)                                                     \
	do {                                                                     \
		if ((call) != napi_ok) {                                         \
			throw_last_napi_error(env);                              \
			return NULL;                                             \
		}                                                                \
	} while (0)

/* Throws CRAC_ENAPI with N-API's own message, unless an exception is already pending. */
void throw_last_napi_error(napi_env env);

napi_value make_string(napi_env env, const char *s);

/* Property setters; a NULL value (a failed create) is skipped. */
void set_prop(napi_env env, napi_value obj, const char *name, napi_value v);
void set_int(napi_env env, napi_value obj, const char *name, int64_t n);
void set_str(napi_env env, napi_value obj, const char *name, const char *s);

/* An Error (or TypeError) with .code; returned, not thrown. */
napi_value make_error(napi_env env, int type_error, const char *code, const char *msg);

/* Throws an error of the native libraries (lib/): its code and message. Returns NULL. */
napi_value throw_crac_error(napi_env env, const struct crac_error *error);

/* The string argument `index` of a call, malloc'd into *out: 0, or -1 with a TypeError pending naming `fn`. */
int get_string_arg(napi_env env, napi_callback_info info, size_t index, const char *fn, char **out);

/* Throws a TypeError with .code and a printf-formatted message (at most 255 bytes). Returns NULL. */
napi_value throw_type_error(napi_env env, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Throws an Error for a failed system call: .code, .errno, .syscall and .path
 * (if not NULL); message "<what>: <strerror> (<syscall>[ <path>])". Returns NULL. */
napi_value throw_sys_error(napi_env env, const char *code, int err, const char *syscall_name, const char *what,
			   const char *path);

/*
 * Option getters for `fn(options)`: read options.<name> from obj; undefined
 * and null count as absent. get_string_opt stores a malloc'd copy in *out
 * (NULL when absent, which throws if `required`); get_bool_opt leaves *out
 * (the default) when absent. A wrong type, or a NUL inside a string, throws
 * a TypeError naming `fn(): options.<name>`. Return 0, or -1 with an
 * exception pending.
 */
int get_string_opt(napi_env env, napi_value obj, const char *fn, const char *name, int required, char **out);
int get_bool_opt(napi_env env, napi_value obj, const char *fn, const char *name, int *out);
/* An array of strings: *out and each string malloc'd (free_string_array), *count of them; NULL/0 when absent. */
int get_string_array_opt(napi_env env, napi_value obj, const char *fn, const char *name, char ***out, size_t *count);
void free_string_array(char **strings, size_t count);
/* A whole number in [lo, hi]; leaves *out unchanged when absent. */
int get_uint_opt(napi_env env, napi_value obj, const char *fn, const char *name, uint32_t lo, uint32_t hi, uint32_t *out);

#endif
