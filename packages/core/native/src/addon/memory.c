/*
 * memory.c - mallocTrim() and v8Notify(): the native levers of the shrink
 * that runs before a dump (src/shrink/), since every page left in the
 * process is a page in the image.
 *
 * v8Notify reaches V8's C++ API from C: the mangled symbols of the
 * v8::Isolate methods are taken with dlsym from the node binary (exported by
 * Node 20.20 and 24.21), and the Itanium C++ ABI passes `this` as the first
 * argument. So no C++, no V8 headers, and the addon stays one ABI-stable
 * build.
 */
#define _GNU_SOURCE
#include "exports.h"

#include <dlfcn.h>
#include <malloc.h>
#include <string.h>

napi_value js_malloc_trim(napi_env env, napi_callback_info info)
{
	(void)info;
	napi_value r;
	napi_create_int32(env, malloc_trim(0), &r);
	return r;
}

/* static Isolate* Isolate::GetCurrent(); the others are member functions. */
typedef void *(*isolate_get_current_fn)(void);
typedef void (*isolate_low_memory_fn)(void *isolate);
typedef void (*isolate_pressure_fn)(void *isolate, int level);

#define SYM_GET_CURRENT "_ZN2v87Isolate10GetCurrentEv"
#define SYM_LOW_MEMORY "_ZN2v87Isolate21LowMemoryNotificationEv"
#define SYM_PRESSURE "_ZN2v87Isolate26MemoryPressureNotificationENS_19MemoryPressureLevelE"

napi_value js_v8_notify(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], t;
	char kind[32];
	size_t len = 0;
	int level = -1; /* v8::MemoryPressureLevel: kNone 0, kModerate 1, kCritical 2; -1: low-memory */

	NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1 || napi_get_value_string_utf8(env, argv[0], kind, sizeof(kind), &len) != napi_ok) {
		napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "v8Notify(kind): kind must be a string");
		return NULL;
	}
	if (strcmp(kind, "pressure-critical") == 0)
		level = 2;
	else if (strcmp(kind, "pressure-moderate") == 0)
		level = 1;
	else if (strcmp(kind, "pressure-none") == 0)
		level = 0;
	else if (strcmp(kind, "low-memory") != 0) {
		napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
				      "v8Notify(kind): kind must be 'low-memory' or 'pressure-critical|moderate|none'");
		return NULL;
	}
	isolate_get_current_fn get_current = (isolate_get_current_fn)dlsym(RTLD_DEFAULT, SYM_GET_CURRENT);
	void *fn = dlsym(RTLD_DEFAULT, level < 0 ? SYM_LOW_MEMORY : SYM_PRESSURE);
	if (!get_current || !fn) {
		napi_throw_error(env, CRAC_ESHRINK,
				 "v8Notify(): this node binary does not export v8::Isolate's GetCurrent / "
				 "LowMemoryNotification / MemoryPressureNotification");
		return NULL;
	}
	void *isolate = get_current();
	if (!isolate) {
		napi_throw_error(env, CRAC_ESHRINK, "v8Notify(): no current V8 isolate on this thread");
		return NULL;
	}
	if (level < 0)
		((isolate_low_memory_fn)fn)(isolate);
	else
		((isolate_pressure_fn)fn)(isolate, level);
	napi_get_boolean(env, true, &t);
	return t;
}
