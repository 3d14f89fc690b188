/*
 * xattr.c - readXattr(path, name): the raw value of a file's extended attribute, or null.
 *
 * For `security.capability`, the file capabilities of the CRIU binary: an unprivileged user's
 * `crac check` says which ones are missing without needing getcap (libcap2-bin, in /usr/sbin,
 * which is not on a user's PATH). The bytes are decoded in TypeScript (engine/criu/capabilities.ts).
 */
#define _GNU_SOURCE
#include "exports.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/xattr.h>

/* Larger than any security.capability (24 bytes) or other short attribute we read. */
#define XATTR_MAX 4096

napi_value js_read_xattr(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], r;
	char path[4096], name[256];
	char value[XATTR_MAX];
	size_t len;
	void *data;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
	    napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &len) != napi_ok || len == 0 ||
	    len >= sizeof(path) - 1 || napi_get_value_string_utf8(env, argv[1], name, sizeof(name), &len) != napi_ok ||
	    len == 0 || len >= sizeof(name) - 1)
		return throw_type_error(env, "ERR_INVALID_ARG_VALUE", "readXattr(): %s must be non-empty strings",
					"path and name");
	/* getxattr follows symlinks: the file that exec would run */
	ssize_t n = getxattr(path, name, value, sizeof(value));
	if (n < 0) {
		if (errno == ENODATA || errno == ENOTSUP) {
			napi_get_null(env, &r);
			return r;
		}
		return throw_sys_error(env, CRAC_EIO, errno, "getxattr", "readXattr(): cannot read the attribute", path);
	}
	if (napi_create_buffer_copy(env, (size_t)n, value, &data, &r) != napi_ok)
		return throw_last_napi_error(env), NULL;
	return r;
}
