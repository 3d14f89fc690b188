/*
 * criu_binary.c - see criu_binary.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "criu/criu_binary.h"

#include "crac/criu.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define MIN_VERSION STR(MIN_CRIU_VERSION_MAJOR) "." STR(MIN_CRIU_VERSION_MINOR)

/* A usable CRIU at `path` (0), or why not in `why` (-1). */
static int probe(const char *path, const char *from, struct criu_binary *criu, char *why, size_t why_len)
{
	if (access(path, X_OK) != 0) {
		snprintf(why, why_len, "no executable CRIU at %s", path);
		return -1;
	}
	int out[2];
	if (pipe2(out, O_CLOEXEC) != 0) {
		snprintf(why, why_len, "%s --version did not print a CRIU version", path);
		return -1;
	}
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
	if (parts < 2) {
		snprintf(why, why_len, "%s --version did not print a CRIU version", path);
		return -1;
	}
	if (parts == 3)
		snprintf(criu->version, sizeof(criu->version), "%u.%u.%u", major, minor, patch);
	else
		snprintf(criu->version, sizeof(criu->version), "%u.%u", major, minor);
	if (major < MIN_CRIU_VERSION_MAJOR || (major == MIN_CRIU_VERSION_MAJOR && minor < MIN_CRIU_VERSION_MINOR)) {
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

int find_criu_in(const struct criu_search *search, struct criu_binary *criu, struct crac_error *error)
{
	char refused[4096] = "", why[PATH_MAX + 100];
	const char *configured = search->configured;
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

/* The capabilities an unprivileged CRIU needs (capabilities.ts UNPRIVILEGED_CRIU_CAPABILITIES), in that order. */
static const struct { const char *name; int bit; } NEEDED[] = { { "cap_checkpoint_restore", 40 }, { "cap_setpcap", 8 } };

/* What /proc/self/status says of this process's privileges. */
struct privileges {
	int no_new_privs; /* NoNewPrivs: 1: exec ignores file capabilities */
	int caps_known;	  /* CapEff was read */
	uint64_t effective; /* CapEff */
};

static struct privileges read_privileges(void)
{
	struct privileges p = { 0, 0, 0 };
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return p;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "NoNewPrivs:", 11) == 0)
			p.no_new_privs = atoi(line + 11) == 1;
		else if (strncmp(line, "CapEff:", 7) == 0) {
			p.effective = strtoull(line + 7, NULL, 16);
			p.caps_known = 1;
		}
	}
	fclose(f);
	return p;
}

#define CAP_SYS_ADMIN_BIT 21

int criu_runs_unprivileged(void)
{
	if (geteuid() != 0)
		return 1;
	/* a container's root (podman, Docker and Kubernetes give no cap_sys_admin by default): CRIU's
	 * privileged mode fails at its first kernel probe, its unprivileged one works (capabilities.ts) */
	struct privileges p = read_privileges();
	return p.caps_known && !(p.effective >> CAP_SYS_ADMIN_BIT & 1);
}

/* A container's root: CRIU runs with root's own capabilities (exec keeps them), not its file's. */
static int assert_own_capabilities(const struct privileges *p, struct crac_error *error)
{
	char missing[128] = "", flags[128] = "";
	for (size_t i = 0; i < sizeof(NEEDED) / sizeof(NEEDED[0]); i++)
		if (!(p->effective >> NEEDED[i].bit & 1)) {
			size_t len = strlen(missing), flen = strlen(flags);
			snprintf(missing + len, sizeof(missing) - len, "%s%s", len ? " and " : "", NEEDED[i].name);
			snprintf(flags + flen, sizeof(flags) - flen, "%s--cap-add ", flen ? " " : "");
			for (const char *c = NEEDED[i].name + 4; *c && strlen(flags) + 1 < sizeof(flags); c++) {
				size_t at = strlen(flags);
				flags[at] = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
				flags[at + 1] = 0;
			}
		}
	if (!missing[0])
		return 0;
	return crac_fail(error, CRAC_ECRIU_CAPS,
			 "this process is root without cap_sys_admin (a container's root) and lacks %s, which CRIU's checkpoint and "
			 "restore need: give the container %s (Kubernetes: securityContext.capabilities.add), see docs/containers.md",
			 missing, flags);
}

int assert_criu_capabilities(const char *path, struct crac_error *error)
{
	struct privileges privileges = read_privileges();
	if (geteuid() == 0)
		return assert_own_capabilities(&privileges, error);
	if (privileges.no_new_privs)
		return crac_fail(error, CRAC_ECRIU_CAPS,
				 "this process runs with no_new_privs, so CRIU at %s would run without its file capabilities: checkpoint and "
				 "restore as a non-root user outside no_new_privs (systemd NoNewPrivileges=, a container's no-new-privileges), "
				 "or as root",
				 path);
	/* struct vfs_cap_data: le32 magic_etc (revision | effective), then per 32 capabilities le32 permitted, inheritable */
	uint8_t value[64];
	ssize_t n = getxattr(path, "security.capability", value, sizeof(value));
	uint32_t permitted[2] = { 0, 0 };
	if (n < 0 && errno != ENODATA && errno != ENOTSUP)
		return crac_fail(error, CRAC_EIO, "cannot read the file capabilities of %s: %s", path, strerror(errno));
	if (n >= 4) {
		uint32_t magic = (uint32_t)value[0] | (uint32_t)value[1] << 8 | (uint32_t)value[2] << 16 | (uint32_t)value[3] << 24;
		uint32_t revision = magic & 0xff000000u;
		int words = revision == 0x01000000u ? 1 : 2;
		ssize_t size = revision == 0x01000000u ? 12 : revision == 0x02000000u ? 20 : revision == 0x03000000u ? 24 : -1;
		if (size != n)
			return crac_fail(error, CRAC_EIO, "unreadable file capabilities (%zd bytes, magic 0x%x)", n, magic);
		if (magic & 1) /* without the effective flag CRIU runs with none of them effective */
			for (int w = 0; w < words; w++)
				permitted[w] = (uint32_t)value[4 + 8 * w] | (uint32_t)value[5 + 8 * w] << 8 | (uint32_t)value[6 + 8 * w] << 16 |
					       (uint32_t)value[7 + 8 * w] << 24;
	} else if (n >= 0) {
		return crac_fail(error, CRAC_EIO, "unreadable file capabilities (%zd bytes, magic 0x0)", n);
	}
	char missing[128] = "";
	for (size_t i = 0; i < sizeof(NEEDED) / sizeof(NEEDED[0]); i++)
		if (!(permitted[NEEDED[i].bit / 32] >> (NEEDED[i].bit % 32) & 1)) {
			size_t len = strlen(missing);
			snprintf(missing + len, sizeof(missing) - len, "%s%s", len ? " and " : "", NEEDED[i].name);
		}
	if (!missing[0])
		return 0;
	return crac_fail(error, CRAC_ECRIU_CAPS,
			 "CRIU at %s lacks %s, which a non-root user's checkpoint and restore need: as root, run `setcap "
			 "cap_checkpoint_restore,cap_setpcap+ep %s` (or `crac check --grant-capabilities`)",
			 path, missing, path);
}
