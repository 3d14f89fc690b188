/*
 * criu_binary.c - see criu_binary.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criu/capabilities.h"
#include "criu/criu_binary.h"
#include "criu/version_cache.h"
#include "image/ownership.h"

#include "crac/criu.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define MIN_VERSION STR(MIN_CRIU_VERSION_MAJOR) "." STR(MIN_CRIU_VERSION_MINOR)

/* What `path --version` printed, as "MAJOR.MINOR[.PATCH]" in `version`: 0, or -1 when it printed no version. */
static int run_version(const char *path, char *version, size_t version_len)
{
	int out[2];
	if (pipe2(out, O_CLOEXEC) != 0)
		return -1;
	pid_t child = fork();
	if (child == 0) {
		dup2(out[1], 1);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 2);
		}
		execl(path, path, "--version", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	char text[512];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(out[0], text + len, sizeof(text) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(text) - 1)
			break;
	}
	text[len] = '\0';
	close(out[0]);
	if (child > 0)
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
		}
	/* Version:\s*(\d+)\.(\d+)(?:\.(\d+))? */
	const char *v = strstr(text, "Version:");
	unsigned major = 0, minor = 0, patch = 0;
	int parts = 0;
	if (v) {
		v += 8;
		while (*v == ' ' || *v == '\t' || *v == '\n')
			v++;
		char dot1, dot2;
		int n = 0;
		if (sscanf(v, "%u%c%u%n", &major, &dot1, &minor, &n) == 3 && dot1 == '.' && v[0] >= '0' && v[0] <= '9') {
			parts = 2;
			const char *rest = v + n;
			if (rest[0] == '.' && rest[1] >= '0' && rest[1] <= '9' && sscanf(rest, "%c%u", &dot2, &patch) == 2)
				parts = 3;
		}
	}
	if (parts < 2)
		return -1;
	if (parts == 3)
		snprintf(version, version_len, "%u.%u.%u", major, minor, patch);
	else
		snprintf(version, version_len, "%u.%u", major, minor);
	return 0;
}

/*
 * A usable CRIU at `path` (0), or why not in `why` (-1). Its version comes from the cache when the
 * file is as it was when the version was last read (version_cache.h), else from `path --version`.
 */
static int probe(const char *path, const char *from, struct criu_binary *criu, char *why, size_t why_len)
{
	struct stat st;
	if (access(path, X_OK) != 0 || stat(path, &st) != 0) {
		snprintf(why, why_len, "no executable CRIU at %s", path);
		return -1;
	}
	if (criu_version_cached(path, &st, criu->version, sizeof(criu->version)) != 0) {
		if (run_version(path, criu->version, sizeof(criu->version)) != 0) {
			snprintf(why, why_len, "%s --version did not print a CRIU version", path);
			return -1;
		}
		criu_version_remember(path, &st, criu->version);
	}
	unsigned major = 0, minor = 0;
	if (sscanf(criu->version, "%u.%u", &major, &minor) != 2 || major < MIN_CRIU_VERSION_MAJOR ||
	    (major == MIN_CRIU_VERSION_MAJOR && minor < MIN_CRIU_VERSION_MINOR)) {
		snprintf(why, why_len, "CRIU %s at %s is too old (" MIN_VERSION " or newer is needed)", criu->version, path);
		return -1;
	}
	snprintf(criu->path, sizeof(criu->path), "%s", path);
	criu->from = from;
	return 0;
}

static void add_refusal(char *refused, size_t len, const char *why)
{
	size_t n = strlen(refused), add = strlen(why);
	if (n + add + 3 >= len)
		return;
	if (n) {
		memcpy(refused + n, "; ", 2);
		n += 2;
	}
	memcpy(refused + n, why, add + 1);
}

/*
 * As root, a CRIU named by the environment must be root's alone: the file, links resolved, and
 * every directory above it owned by root and writable by nobody else (a sticky directory above an
 * entry of root's excepted). Else whoever set CRAC_CRIU_PATH for root (sudo -E, a unit's
 * Environment=, a CI job) could have it run their program as root.
 */
static int assert_root_only(const char *configured, struct crac_error *error)
{
	char real[PATH_MAX];
	struct stat st;
	if (!realpath(configured, real) || stat(real, &st) != 0)
		return 0; /* nothing there: probe() says so */
	char owner[300];
	if (file_unsafety(&st, 0))
		return crac_fail(error, CRAC_EENGINE,
				 "%s=%s is not root's alone (%s, owner %s, mode %o): as root, crac runs only a CRIU that only root can "
				 "replace. Fix: install CRIU where only root can write (npx crac setup), or unset %s",
				 CRIU_PATH_ENV, configured, real, describe_owner(st.st_uid, owner, sizeof(owner)), (unsigned)(st.st_mode & 07777),
				 CRIU_PATH_ENV);
	char *slash = strrchr(real, '/');
	*slash = '\0';
	int dir = open(real[0] ? real : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return crac_fail(error, CRAC_EENGINE, "cannot inspect %s: %s", real, strerror(errno));
	int refused = assert_safe_dir_fd(dir, real[0] ? real : "/", 0, DIR_USE_PROGRAM, error);
	close(dir);
	if (refused)
		snprintf(error->message + strlen(error->message), sizeof(error->message) - strlen(error->message),
			 " (the directory of %s=%s)", CRIU_PATH_ENV, configured);
	return refused;
}

int find_criu_in(const struct criu_search *search, struct criu_binary *criu, struct crac_error *error)
{
	char refused[4096] = "", why[PATH_MAX + 100];
	const char *configured = search->configured;
	if (configured && *configured && geteuid() == 0 && assert_root_only(configured, error) != 0)
		return -1;
	/* one that is there but not for this user (a granted CRIU is its group's): said as such, not passed over */
	if (criu_not_executable(configured && *configured ? configured : search->default_path, error))
		return -1;
	if (configured && *configured) {
		if (probe(configured, "env", criu, why, sizeof(why)) == 0)
			return 0;
		return crac_fail(error, CRAC_EENGINE, "%s: %s", why, CRIU_FIX);
	}
	if (probe(search->default_path, "default", criu, why, sizeof(why)) == 0)
		return 0;
	if (strncmp(why, "no executable", 13) != 0)
		add_refusal(refused, sizeof(refused), why);
	/* `criu` in each absolute directory of PATH, then the sbin directories, each file once */
	size_t len = strlen(search->path_env ? search->path_env : "") + 1;
	for (size_t i = 0; i < search->nsbin_dirs; i++)
		len += strlen(search->sbin_dirs[i]) + 1;
	char *dirs = malloc(len + 1);
	if (dirs) {
		snprintf(dirs, len + 1, "%s", search->path_env ? search->path_env : "");
		for (size_t i = 0; i < search->nsbin_dirs; i++) {
			strcat(dirs, ":");
			strcat(dirs, search->sbin_dirs[i]);
		}
	}
	char seen[16][PATH_MAX];
	int nseen = 0;
	for (char *save = NULL, *dir = dirs ? strtok_r(dirs, ":", &save) : NULL; dir; dir = strtok_r(NULL, ":", &save)) {
		/* relative PATH entries would make the choice depend on the working directory */
		if (dir[0] != '/')
			continue;
		char candidate[PATH_MAX], real[PATH_MAX];
		snprintf(candidate, sizeof(candidate), "%s/criu", dir);
		if (!realpath(candidate, real))
			continue;
		int dup = 0;
		for (int i = 0; i < nseen; i++)
			dup |= strcmp(seen[i], real) == 0;
		if (dup)
			continue;
		if (nseen < 16)
			snprintf(seen[nseen++], PATH_MAX, "%s", real);
		if (probe(candidate, "path", criu, why, sizeof(why)) == 0) {
			free(dirs);
			return 0;
		}
		add_refusal(refused, sizeof(refused), why);
	}
	free(dirs);
	if (refused[0])
		return crac_fail(error, CRAC_EENGINE, "no CRIU " MIN_VERSION " or newer at %s or on PATH (%s): %s", search->default_path, refused,
				 CRIU_FIX);
	return crac_fail(error, CRAC_EENGINE, "no CRIU " MIN_VERSION " or newer at %s or on PATH: %s", search->default_path, CRIU_FIX);
}

int find_criu(struct criu_binary *criu, struct crac_error *error)
{
	static const char *const sbin[] = SBIN_DIRS;
	struct criu_search search = {
		.configured = getenv(CRIU_PATH_ENV),
		.default_path = DEFAULT_CRIU_PATH,
		.path_env = getenv("PATH"),
		.sbin_dirs = sbin,
		.nsbin_dirs = sizeof(sbin) / sizeof(sbin[0]),
	};
	return find_criu_in(&search, criu, error);
}
