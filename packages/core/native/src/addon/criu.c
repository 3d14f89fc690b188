/*
 * criu.c - findCriu(search): the CRIU binary crac runs, found by the one implementation
 * (lib/criu/criu_binary.c) that crac-restore uses too.
 */
#define _GNU_SOURCE
#include "exports.h"

#include <stdlib.h>

#include "criu/criu_binary.h"

/* findCriu({ configured?, defaultPath, path?, sbinDirs }) -> { path, version, from } */
napi_value js_find_criu(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value options, result = NULL;
	if (napi_get_cb_info(env, info, &argc, &options, NULL, NULL) != napi_ok || argc < 1)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "findCriu(): %s", "an options object is required");
	char *configured = NULL, *default_path = NULL, *path_env = NULL, **sbin = NULL;
	size_t nsbin = 0;
	if (get_string_opt(env, options, "findCriu()", "configured", 0, &configured) != 0 ||
	    get_string_opt(env, options, "findCriu()", "defaultPath", 1, &default_path) != 0 ||
	    get_string_opt(env, options, "findCriu()", "path", 0, &path_env) != 0 ||
	    get_string_array_opt(env, options, "findCriu()", "sbinDirs", &sbin, &nsbin) != 0)
		goto out;
	struct criu_search search = { configured, default_path, path_env, (const char *const *)sbin, nsbin };
	struct criu_binary criu;
	struct crac_error error = { 0 };
	if (find_criu_in(&search, &criu, &error) != 0) {
		throw_crac_error(env, &error);
		goto out;
	}
	if (napi_create_object(env, &result) != napi_ok) {
		throw_last_napi_error(env);
		goto out;
	}
	set_str(env, result, "path", criu.path);
	set_str(env, result, "version", criu.version);
	set_str(env, result, "from", criu.from);
out:
	free(configured);
	free(default_path);
	free(path_env);
	free_string_array(sbin, nsbin);
	return result;
}
