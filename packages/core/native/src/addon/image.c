/*
 * image.c - the image format's doors for TypeScript, which holds no reader of its own:
 * readManifest(dir), an image's manifest read and checked by the one reader of the format
 * (lib/image/manifest.c, crac-restore's and crac-seal's), returned as the file's text for
 * JSON.parse; assertReplaceable(target), a checkpoint's target holds only an image
 * (lib/image/files.c, the check crac-seal repeats at post-dump).
 */
#define _GNU_SOURCE
#include "exports.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/files.h"
#include "image/manifest.h"

napi_value js_read_manifest(napi_env env, napi_callback_info info)
{
	char *dir = NULL;
	if (get_string_arg(env, info, 0, "readManifest()", &dir) != 0)
		return NULL;
	struct crac_error error = { 0 };
	struct manifest manifest;
	struct stat st;
	napi_value result = NULL;
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0) {
		const char *name = strerrorname_np(errno);
		crac_fail(&error, CRAC_EIMAGE, "%s is not a crac image: cannot read %s (%s)", dir, MANIFEST_FILE, name ? name : strerror(errno));
		throw_crac_error(env, &error);
	} else if (read_manifest_at(dir_fd, dir, &manifest, &st, &error) != 0) {
		throw_crac_error(env, &error);
	} else {
		if (napi_create_string_utf8(env, manifest.raw, manifest.raw_len, &result) != napi_ok)
			throw_last_napi_error(env);
		free_manifest(&manifest);
	}
	if (dir_fd >= 0)
		close(dir_fd);
	free(dir);
	return result;
}

napi_value js_assert_replaceable(napi_env env, napi_callback_info info)
{
	char *target = NULL;
	if (get_string_arg(env, info, 0, "assertReplaceable()", &target) != 0)
		return NULL;
	struct crac_error error = { 0 };
	napi_value result = NULL;
	if (assert_replaceable_image_dir(target, &error) != 0)
		throw_crac_error(env, &error);
	else
		napi_get_boolean(env, 1, &result);
	free(target);
	return result;
}
