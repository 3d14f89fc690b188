/*
 * fds.c - descriptors and directory entries the TypeScript side cannot handle with node:fs.
 *
 * exchangePaths(a, b): swaps two directory entries at once (renameat2 RENAME_EXCHANGE). A new
 * image replaces the previous one in one step: at no moment is there no image, or half of one.
 *
 * neutralizeFd(fd): points a descriptor at /dev/null, keeping its number.
 *
 * The audit's `unreleased: 'close'` policy must not close() a descriptor that some code still
 * holds by number: the number is reused by the next open(), and the old owner's next write would
 * land in someone else's file. dup3() of /dev/null over it releases what it held (a file, a socket)
 * while the number stays taken: the old owner reads EOF and writes into nothing.
 */
#define _GNU_SOURCE
#include "exports.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* Reads argument i as a string (malloc'd into *out). Returns 0, or -1 with an exception pending. */
static int path_arg(napi_env env, napi_value value, const char *what, char **out)
{
	size_t len = 0;
	napi_valuetype t;
	*out = NULL;
	if (napi_typeof(env, value, &t) != napi_ok || t != napi_string)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "exchangePaths(): %s must be a string", what), -1;
	napi_get_value_string_utf8(env, value, NULL, 0, &len);
	*out = malloc(len + 1);
	if (!*out)
		return napi_throw_error(env, CRAC_ENOMEM, "out of memory"), -1;
	napi_get_value_string_utf8(env, value, *out, len + 1, &len);
	return 0;
}

napi_value js_exchange_paths(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], r = NULL;
	char *a = NULL, *b = NULL;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "exchangePaths(): %s", "two paths are needed");
	if (path_arg(env, argv[0], "a", &a) == 0 && path_arg(env, argv[1], "b", &b) == 0) {
		/* the raw system call: glibc's renameat2() wrapper is newer than some systems we run on */
		if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0)
			throw_sys_error(env, CRAC_EIO, errno, "renameat2", "exchangePaths(): cannot exchange", a);
		else
			napi_get_boolean(env, 1, &r);
	}
	free(a);
	free(b);
	return r;
}

napi_value js_neutralize_fd(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], r;
	int32_t fd;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
	    napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 3)
		return throw_type_error(env, "ERR_INVALID_ARG_VALUE", "neutralizeFd(): %s must be a descriptor number above 2", "fd");
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return throw_sys_error(env, CRAC_EIO, errno, "open", "neutralizeFd(): cannot open /dev/null", "/dev/null");
	int ok = dup3(null, fd, O_CLOEXEC) == fd;
	int err = errno;
	close(null);
	if (!ok)
		return throw_sys_error(env, CRAC_EIO, err, "dup3", "neutralizeFd(): cannot replace the descriptor", NULL);
	napi_get_boolean(env, 1, &r);
	return r;
}
