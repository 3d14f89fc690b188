/*
 * addon.c - crac.node's module init: the export table, nothing else.
 *
 * No libcriu and no C++: checkpoint() execs the CRIU binary and speaks its
 * RPC itself, the other exports reach into the node binary with dlsym. Only
 * Node-API is used, so one build loads in every Node >= 20.
 */
#include "exports.h"

NAPI_MODULE_INIT()
{
	napi_property_descriptor props[] = {
		{ "checkpoint", NULL, js_checkpoint, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "reseedRandom", NULL, js_reseed_random, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "mallocTrim", NULL, js_malloc_trim, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "v8Notify", NULL, js_v8_notify, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "neutralizeFd", NULL, js_neutralize_fd, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "holdSignals", NULL, js_hold_signals, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "caughtSignals", NULL, js_caught_signals, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "takeCaughtSignals", NULL, js_take_caught_signals, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "caughtWithToken", NULL, js_caught_with_token, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "releaseSignals", NULL, js_release_signals, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "readManifest", NULL, js_read_manifest, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "assertReplaceable", NULL, js_assert_replaceable, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "findCriu", NULL, js_find_criu, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "criuErrorLines", NULL, js_criu_error_lines, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "criuRestorePhases", NULL, js_criu_restore_phases, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "decodeFileCapabilities", NULL, js_decode_file_capabilities, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "fileCapabilities", NULL, js_file_capabilities, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "capabilityName", NULL, js_capability_name, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "processPrivileges", NULL, js_process_privileges, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "criuRunsUnprivileged", NULL, js_criu_runs_unprivileged, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "criuCapabilityProblem", NULL, js_criu_capability_problem, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "fileUnsafety", NULL, js_file_unsafety, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "directoryUnsafety", NULL, js_directory_unsafety, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "describeOwner", NULL, js_describe_owner, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "assertSafeDirectory", NULL, js_assert_safe_directory, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "openImageDir", NULL, js_open_image_dir, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "holdListeners", NULL, js_hold_listeners, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "reclaimListeners", NULL, js_reclaim_listeners, NULL, NULL, NULL, napi_enumerable, NULL },
	};
	if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok)
		return NULL;
	return exports;
}
