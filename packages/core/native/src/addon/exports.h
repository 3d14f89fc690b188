/*
 * exports.h - the JS functions of crac.node, for addon.c's export table.
 * Their contract (arguments, results, error codes): README-native.md.
 */
#ifndef CRAC_EXPORTS_H
#define CRAC_EXPORTS_H

#include "napi_util.h"

napi_value js_checkpoint(napi_env env, napi_callback_info info);    /* checkpoint.c */
napi_value js_reseed_random(napi_env env, napi_callback_info info); /* randomness.c */
napi_value js_malloc_trim(napi_env env, napi_callback_info info);   /* memory.c */
napi_value js_v8_notify(napi_env env, napi_callback_info info);     /* memory.c */
napi_value js_neutralize_fd(napi_env env, napi_callback_info info); /* fds.c */
napi_value js_hold_signals(napi_env env, napi_callback_info info);    /* signals.c */
napi_value js_caught_signals(napi_env env, napi_callback_info info);  /* signals.c */
napi_value js_take_caught_signals(napi_env env, napi_callback_info info); /* signals.c */
napi_value js_caught_with_token(napi_env env, napi_callback_info info); /* signals.c */
napi_value js_release_signals(napi_env env, napi_callback_info info); /* signals.c */
napi_value js_read_manifest(napi_env env, napi_callback_info info); /* image.c */
napi_value js_assert_replaceable(napi_env env, napi_callback_info info); /* image.c */
napi_value js_find_criu(napi_env env, napi_callback_info info);     /* criu.c */
napi_value js_criu_error_lines(napi_env env, napi_callback_info info); /* criu_log.c */
napi_value js_criu_restore_phases(napi_env env, napi_callback_info info); /* criu_log.c */
napi_value js_decode_file_capabilities(napi_env env, napi_callback_info info); /* capabilities.c */
napi_value js_file_capabilities(napi_env env, napi_callback_info info);        /* capabilities.c */
napi_value js_capability_name(napi_env env, napi_callback_info info);          /* capabilities.c */
napi_value js_process_privileges(napi_env env, napi_callback_info info);       /* capabilities.c */
napi_value js_criu_runs_unprivileged(napi_env env, napi_callback_info info);   /* capabilities.c */
napi_value js_criu_capability_problem(napi_env env, napi_callback_info info);  /* capabilities.c */
napi_value js_file_unsafety(napi_env env, napi_callback_info info);            /* ownership.c */
napi_value js_directory_unsafety(napi_env env, napi_callback_info info);       /* ownership.c */
napi_value js_describe_owner(napi_env env, napi_callback_info info);           /* ownership.c */
napi_value js_assert_safe_directory(napi_env env, napi_callback_info info);    /* ownership.c */
napi_value js_open_image_dir(napi_env env, napi_callback_info info);           /* ownership.c */
napi_value js_hold_listeners(napi_env env, napi_callback_info info);    /* listeners.c */
napi_value js_reclaim_listeners(napi_env env, napi_callback_info info); /* listeners.c */

#endif
