/*
 * randomness.c - reseedRandom(): every copy restored from one image starts
 * with the same OpenSSL RNG state, so it would hand out the same "random"
 * bytes as its siblings. Fresh kernel entropy is mixed in after a restore.
 *
 * OpenSSL is not linked: RAND_add/RAND_poll are taken with dlsym from the
 * node binary, which exports them (its OpenSSL is the one crypto uses).
 */
#define _GNU_SOURCE
#include "exports.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

typedef int (*rand_poll_fn)(void);
typedef void (*rand_add_fn)(const void *buf, int num, double randomness);

napi_value js_reseed_random(napi_env env, napi_callback_info info)
{
	(void)info;
	unsigned char buf[48];
	size_t got = 0;
	napi_value t;
	rand_poll_fn rand_poll = (rand_poll_fn)dlsym(RTLD_DEFAULT, "RAND_poll");
	rand_add_fn rand_add = (rand_add_fn)dlsym(RTLD_DEFAULT, "RAND_add");

	if (!rand_poll || !rand_add) {
		napi_throw_error(env, CRAC_ERESEED,
				 "reseedRandom(): OpenSSL's RAND_poll/RAND_add are not exported by this node binary");
		return NULL;
	}
	while (got < sizeof(buf)) {
		ssize_t n = TEMP_FAILURE_RETRY(getrandom(buf + got, sizeof(buf) - got, 0));
		if (n < 0)
			return throw_sys_error(env, CRAC_ERESEED, errno, "getrandom", "reseedRandom(): getrandom failed",
					       NULL);
		got += (size_t)n;
	}
	rand_add(buf, (int)sizeof(buf), (double)sizeof(buf));
	memset(buf, 0, sizeof(buf));
	if (rand_poll() != 1) {
		napi_throw_error(env, CRAC_ERESEED, "reseedRandom(): RAND_poll() failed");
		return NULL;
	}
	napi_get_boolean(env, true, &t);
	return t;
}
