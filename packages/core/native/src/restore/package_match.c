/*
 * package_match.c - see package_match.h. The launcher (@crac/cli's bin/crac) names the
 * @crac/core it found in CRAC_CORE_DIR; the platform package is the directory of this program.
 */
#include "package_match.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json/json.h"

#define PACKAGE_JSON_MAX (256 * 1024)

struct package {
	char *text;
	struct json_arena arena;
	const char *name, *version;
};

/* Reads DIR/package.json: 0, or -1 with errno (ENOENT: there is none). */
static int read_package(const char *dir, struct package *p)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/package.json", dir) >= sizeof(path))
		return errno = ENAMETOOLONG, -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	p->text = malloc(PACKAGE_JSON_MAX);
	size_t len = 0;
	ssize_t n = 1;
	while (p->text && len < PACKAGE_JSON_MAX && (n = read(fd, p->text + len, PACKAGE_JSON_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	char why[128];
	struct json *root = p->text && n >= 0 && len < PACKAGE_JSON_MAX ? json_parse(p->text, len, &p->arena, why, sizeof(why)) : NULL;
	p->name = json_string(json_get(root, "name"));
	p->version = json_string(json_get(root, "version"));
	if (!p->name || !p->version)
		return errno = EINVAL, -1;
	return 0;
}

static void free_package(struct package *p)
{
	json_free(&p->arena);
	free(p->text);
}

int assert_package_matches(const char *core_dir, struct crac_error *error)
{
	char self[PATH_MAX];
	ssize_t n = core_dir && *core_dir ? readlink("/proc/self/exe", self, sizeof(self) - 1) : -1;
	if (n <= 0)
		return 0;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return 0;
	*slash = '\0';

	struct package platform = { 0 }, core = { 0 };
	int status = 0;
	if (read_package(self, &platform) == 0 && strncmp(platform.name, "@crac/core-", 11) == 0) {
		if (read_package(core_dir, &core) != 0)
			status = crac_fail(error, CRAC_EENGINE, "cannot read the version of @crac/core in %s/package.json (%s)", core_dir,
					   strerror(errno));
		else if (strcmp(core.version, platform.version) != 0)
			status = crac_fail(error, CRAC_EENGINE,
					   "%s %s is installed (%s), but @crac/core is %s and needs the same version; "
					   "fix: npm install %s@%s",
					   platform.name, platform.version, self, core.version, platform.name, core.version);
	}
	free_package(&platform);
	free_package(&core);
	return status;
}
