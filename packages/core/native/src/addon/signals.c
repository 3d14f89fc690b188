/*
 * signals.c - holdSignals(numbers), caughtSignals(), takeCaughtSignals(), caughtWithToken(token),
 * releaseSignals(defaulted): the stop signals (SIGTERM, SIGINT, SIGHUP) caught here, in C, from
 * just before a dump until the checkpoint cycle has settled.
 *
 * During checkpoint() the main thread is blocked: libuv's handler would write a signal into its
 * loop's pipe, and CRIU would save that pipe, and so the signal, into the image (every restored
 * copy would then run the app's SIGTERM handler). A signal that arrives while CRIU has the
 * process stopped stays pending, and CRIU saves pending signals too. Here the handler only sets
 * a bit in memory: the original reads it after the dump and gets the signal; a restored copy
 * reads the same bit (from the image, or from the pending signal CRIU queued again) and knows
 * the signal was not meant for it, unless its restorer sent it with this restore's token
 * (caughtWithToken(): the restorer forwards with sigqueue, see supervise.c).
 *
 * They stay caught here after the dump, until the cycle gives the app its listeners back: had
 * libuv's handler been put back at once, a signal arriving then would wait in libuv's pipe for
 * the event loop, and Node drops what waits there when the cycle removes the last listener of a
 * signal (a SIGTERM to a just-restored app without a listener of its own was lost that way).
 * releaseSignals(defaulted) then puts libuv's handler back, but for the signals Node has just
 * given back to the default action itself (their last listener gone).
 */
#define _GNU_SOURCE
#include "exports.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

/* Bits of the signals caught (bit n: signal n), and of those held. */
static uint64_t caught;
static uint64_t held;
static struct sigaction saved[64];
/* The value of the last sigqueue() of each signal caught: a restorer's token (supervise.c). */
static int tokens[64];

static void on_held_signal(int sig, siginfo_t *info, void *context)
{
	(void)context;
	if (info && info->si_code == SI_QUEUE)
		__atomic_store_n(&tokens[sig], info->si_value.sival_int, __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&caught, (uint64_t)1 << sig, __ATOMIC_SEQ_CST);
}

/* The caught signals as a JS array of numbers. */
static napi_value caught_array(napi_env env, uint64_t bits)
{
	napi_value array, n;
	uint32_t i = 0;

	if (napi_create_array(env, &array) != napi_ok)
		return throw_last_napi_error(env), NULL;
	for (int sig = 1; sig < 64; sig++) {
		if (!(bits & ((uint64_t)1 << sig)))
			continue;
		if (napi_create_int32(env, sig, &n) != napi_ok || napi_set_element(env, array, i++, n) != napi_ok)
			return throw_last_napi_error(env), NULL;
	}
	return array;
}

/* Puts back the handlers saved for the signals held (libuv's, or whatever was there). */
static void restore_held(void)
{
	for (int sig = 1; sig < 64; sig++) {
		if (held & ((uint64_t)1 << sig))
			sigaction(sig, &saved[sig], NULL);
	}
	held = 0;
}

/*
 * The signals of the JS array `value` as bits, in *bits: 0; or an exception thrown (naming `who`
 * and `what`) and -1, when it is not an array of signals that can be caught.
 */
static int signal_bits(napi_env env, napi_value value, const char *who, const char *what, uint64_t *bits)
{
	bool is_array = false;
	uint32_t length = 0;
	*bits = 0;
	if (napi_is_array(env, value, &is_array) != napi_ok || !is_array || napi_get_array_length(env, value, &length) != napi_ok) {
		throw_type_error(env, "ERR_INVALID_ARG_TYPE", "%s(): %s must be an array of signal numbers", who, what);
		return -1;
	}
	for (uint32_t i = 0; i < length; i++) {
		napi_value v;
		int32_t sig = 0;
		if (napi_get_element(env, value, i, &v) != napi_ok || napi_get_value_int32(env, v, &sig) != napi_ok || sig <= 0 ||
		    sig >= 64 || sig == SIGKILL || sig == SIGSTOP) {
			throw_type_error(env, "ERR_INVALID_ARG_VALUE", "%s(): %s is not a signal that can be caught", who, "an element");
			return -1;
		}
		*bits |= (uint64_t)1 << sig;
	}
	return 0;
}

napi_value js_hold_signals(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], r;
	uint64_t bits = 0;
	struct sigaction sa;

	if (held)
		return napi_throw_error(env, CRAC_EBUSY, "holdSignals(): signals are already held"), NULL;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "holdSignals(): %s must be an array of signal numbers",
					"signals");
	if (signal_bits(env, argv[0], "holdSignals", "signals", &bits) != 0)
		return NULL;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_held_signal;
	/* SA_RESTART, as libuv's own: the other threads' system calls go on as they would have */
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	__atomic_store_n(&caught, 0, __ATOMIC_SEQ_CST);
	for (int sig = 0; sig < 64; sig++)
		__atomic_store_n(&tokens[sig], 0, __ATOMIC_SEQ_CST);
	for (int sig = 1; sig < 64; sig++) {
		if (!(bits & ((uint64_t)1 << sig)))
			continue;
		if (sigaction(sig, &sa, &saved[sig]) != 0) {
			int err = errno;
			restore_held();
			return throw_sys_error(env, CRAC_EIO, err, "sigaction", "holdSignals(): cannot catch a signal", NULL);
		}
		held |= (uint64_t)1 << sig;
	}
	napi_get_boolean(env, 1, &r);
	return r;
}

napi_value js_caught_signals(napi_env env, napi_callback_info info)
{
	(void)info;
	return caught_array(env, __atomic_load_n(&caught, __ATOMIC_SEQ_CST));
}

napi_value js_take_caught_signals(napi_env env, napi_callback_info info)
{
	(void)info;
	return caught_array(env, __atomic_exchange_n(&caught, 0, __ATOMIC_SEQ_CST));
}

/* Whatever the caught bit says (the caller took it): the tokens are reset by holdSignals(). */
napi_value js_caught_with_token(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	int32_t token = 0;
	uint64_t with = 0;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
	    napi_get_value_int32(env, argv[0], &token) != napi_ok || token == 0)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "caughtWithToken(): %s must be a non-zero int32",
					"token");
	for (int sig = 1; sig < 64; sig++)
		if (__atomic_load_n(&tokens[sig], __ATOMIC_SEQ_CST) == token)
			with |= (uint64_t)1 << sig;
	return caught_array(env, with);
}

napi_value js_release_signals(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	uint64_t defaulted = 0;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return throw_last_napi_error(env), NULL;
	if (argc >= 1 && signal_bits(env, argv[0], "releaseSignals", "defaulted", &defaulted) != 0)
		return NULL;
	/* those whose default action Node put back (libuv's handler would find no listener): left as they are */
	held &= ~defaulted;
	/* handlers first: a signal from now on reaches the app's path, not the bit read below */
	restore_held();
	return caught_array(env, __atomic_exchange_n(&caught, 0, __ATOMIC_SEQ_CST));
}
