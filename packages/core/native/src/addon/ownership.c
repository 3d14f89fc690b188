/*
 * ownership.c - who may have written what a user restores, checkpoints into or runs: the owner
 * rules of lib/image/ownership.c (crac-restore's and crac-seal's), for TypeScript:
 * fileUnsafety(owner, mode, uid), directoryUnsafety(owner, mode, uid, belowOwner?),
 * describeOwner(uid), assertSafeDirectory(fd, dir, uid, use), openImageDir(dir, uid).
 */
#define _GNU_SOURCE
#include "exports.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image.h"
#include "image/ownership.h"

/* Arguments 0..count-1 as unsigned numbers (uids, modes, descriptors); -1 with a TypeError pending. */
static int numbers(napi_env env, napi_callback_info info, const char *fn, size_t count, uint32_t *out, size_t *given)
{
	size_t argc = 4;
	napi_value argv[4];
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return -1;
	*given = argc;
	for (size_t i = 0; i < count; i++)
		if (i >= argc || napi_get_value_uint32(env, argv[i], &out[i]) != napi_ok) {
			throw_type_error(env, "ERR_INVALID_ARG_TYPE", "%s: argument %zu must be a whole number", fn, i + 1);
			return -1;
		}
	return 0;
}

static napi_value unsafety_value(napi_env env, int unsafety)
{
	napi_value v;
	if (unsafety == 'o')
		return make_string(env, "owner");
	if (unsafety == 'w')
		return make_string(env, "writable");
	napi_get_null(env, &v);
	return v;
}

napi_value js_file_unsafety(napi_env env, napi_callback_info info)
{
	uint32_t n[3];
	size_t given;
	if (numbers(env, info, "fileUnsafety()", 3, n, &given) != 0)
		return NULL;
	struct stat st = { .st_uid = n[0], .st_mode = n[1] };
	return unsafety_value(env, file_unsafety(&st, n[2]));
}

napi_value js_directory_unsafety(napi_env env, napi_callback_info info)
{
	uint32_t n[4];
	size_t given;
	if (numbers(env, info, "directoryUnsafety()", 3, n, &given) != 0)
		return NULL;
	struct stat st = { .st_uid = n[0], .st_mode = n[1] }, below = { 0 };
	napi_value argv[4];
	size_t argc = 4;
	napi_valuetype type = napi_undefined;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	int has_below = argc > 3 && napi_typeof(env, argv[3], &type) == napi_ok && type == napi_number &&
			napi_get_value_uint32(env, argv[3], &n[3]) == napi_ok;
	below.st_uid = has_below ? n[3] : 0;
	return unsafety_value(env, directory_unsafety(&st, n[2], has_below ? &below : NULL));
}

napi_value js_describe_owner(napi_env env, napi_callback_info info)
{
	uint32_t uid;
	size_t given;
	if (numbers(env, info, "describeOwner()", 1, &uid, &given) != 0)
		return NULL;
	char buf[300];
	return make_string(env, describe_owner(uid, buf, sizeof(buf)));
}

napi_value js_assert_safe_directory(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4], result = NULL;
	uint32_t fd = 0, uid = 0;
	char *dir = NULL, use[16] = "";
	size_t len = 0;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 || napi_get_value_uint32(env, argv[0], &fd) != napi_ok ||
	    napi_get_value_uint32(env, argv[2], &uid) != napi_ok ||
	    napi_get_value_string_utf8(env, argv[3], use, sizeof(use), &len) != napi_ok)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "assertSafeDirectory(): %s", "(fd, dir, uid, use) expected");
	enum dir_use which = strcmp(use, "checkpoint") == 0    ? DIR_USE_CHECKPOINT
			     : strcmp(use, "program") == 0     ? DIR_USE_PROGRAM
			     : strcmp(use, "environment") == 0 ? DIR_USE_ENVIRONMENT
							       : DIR_USE_RESTORE;
	if (get_string_arg(env, info, 1, "assertSafeDirectory()", &dir) != 0)
		return NULL;
	struct crac_error error = { 0 };
	if (assert_safe_dir_fd((int)fd, dir, uid, which, &error) != 0)
		throw_crac_error(env, &error);
	else
		napi_get_boolean(env, 1, &result);
	free(dir);
	return result;
}

napi_value js_open_image_dir(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], result = NULL;
	uint32_t uid = 0;
	char *dir = NULL;
	if (get_string_arg(env, info, 0, "openImageDir()", &dir) != 0)
		return NULL;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_uint32(env, argv[1], &uid) != napi_ok) {
		free(dir);
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "openImageDir(): %s", "a uid is required");
	}
	struct crac_error error = { 0 };
	int fd = open_image_dir(dir, uid, &error);
	free(dir);
	if (fd < 0)
		return throw_crac_error(env, &error);
	/* handed to JavaScript, which closes it: not closed on exec either way */
	napi_create_int32(env, fd, &result);
	return result;
}
