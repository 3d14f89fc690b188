/*
 * fds.c - neutralizeFd(fd): points a descriptor at /dev/null, keeping its number (node:fs
 * cannot).
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
