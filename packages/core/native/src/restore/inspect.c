/*
 * inspect.c - `crac-restore --inspect DIR`, what `crac inspect` and inspectImage() report from
 * (one reader of the image format): the manifest as written, then the full verification on this
 * host, as one JSON document on stdout (`{"imagesDir", "manifest", "verification": {"ok": true,
 * "warnings", "durationMs", "seal"} or {"ok": false, "error": {"code", "message"}}}`); exit 0 when
 * the image verifies, 1 when not or when the manifest cannot be read (`{"ok": false, "error"}`
 * then).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu/criu_binary.h"
#include "restore.h"
#include "report.h"

static void print_error_json(const char *prefix, const struct crac_error *error)
{
	static char code[64], message[sizeof(error->message) * 2];
	json_quote(code, sizeof(code), error->code);
	json_quote(message, sizeof(message), error->message);
	printf("%s\"ok\":false,\"error\":{\"code\":%s,\"message\":%s}}", prefix, code, message);
}

/* --inspect: see the header. The manifest is read first without the ownership checks (they are the verification's). */
int inspect(const char *dir)
{
	struct crac_error error = { 0 };
	char quoted_dir[PATH_MAX * 2];
	json_quote(quoted_dir, sizeof(quoted_dir), dir);
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct manifest manifest;
	struct stat st;
	if (dir_fd < 0) {
		const char *name = strerrorname_np(errno);
		crac_fail(&error, CRAC_EIMAGE, "%s is not a crac image: cannot read %s (%s)", dir, MANIFEST_FILE, name ? name : strerror(errno));
	} else if (read_manifest_at(dir_fd, dir, &manifest, &st, &error) != 0) {
		close(dir_fd);
		dir_fd = -1;
	}
	if (dir_fd < 0) {
		print_error_json("{", &error);
		printf("\n");
		return 1;
	}
	close(dir_fd);
	printf("{\"imagesDir\":%s,\"manifest\":%.*s,\"verification\":", quoted_dir, (int)manifest.raw_len, manifest.raw);
	free_manifest(&manifest);

	double started = now_ms();
	struct criu_binary criu;
	struct crac_error no_criu;
	int have_criu = find_criu(&criu, &no_criu) == 0; /* no CRIU here: the image is still inspected */
	struct image image;
	char warnings[2048] = "";
	struct seal_check check;
	if (open_image(dir, &image, &error) != 0) {
		print_error_json("{", &error);
		printf("}\n");
		return 1;
	}
	int failed = verify_host_and_binaries(&image, have_criu ? criu.version : NULL, warnings, sizeof(warnings), NULL, &error) != 0 ||
		     verify_seal(&image, 1, &check, &error) != 0;
	close_image(&image);
	if (failed) {
		print_error_json("{", &error);
		printf("}\n");
		return 1;
	}
	printf("{\"ok\":true,\"warnings\":[");
	int first = 1;
	for (char *save = NULL, *w = strtok_r(warnings, "\n", &save); w; w = strtok_r(NULL, "\n", &save)) {
		char quoted[1200];
		json_quote(quoted, sizeof(quoted), w);
		printf("%s%s", first ? "" : ",", quoted);
		first = 0;
	}
	printf("],\"durationMs\":%.3f,\"seal\":{\"files\":%zu,\"hashed\":%zu,\"bytesHashed\":%llu}}}\n", now_ms() - started, check.files,
	       check.hashed, check.bytes_hashed);
	return 0;
}

