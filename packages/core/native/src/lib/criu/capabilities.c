/* capabilities.c - see capabilities.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "crac/capabilities.h"
#include "criu/capabilities.h"

/* Capability names by bit, as capsh and getcap print them (linux/capability.h). */
static const char *const NAMES[] = {
	"cap_chown",	     "cap_dac_override",   "cap_dac_read_search", "cap_fowner",	      "cap_fsetid",
	"cap_kill",	     "cap_setgid",	   "cap_setuid",	  "cap_setpcap",      "cap_linux_immutable",
	"cap_net_bind_service", "cap_net_broadcast", "cap_net_admin",	  "cap_net_raw",      "cap_ipc_lock",
	"cap_ipc_owner",     "cap_sys_module",	   "cap_sys_rawio",	  "cap_sys_chroot",   "cap_sys_ptrace",
	"cap_sys_pacct",     "cap_sys_admin",	   "cap_sys_boot",	  "cap_sys_nice",     "cap_sys_resource",
	"cap_sys_time",	     "cap_sys_tty_config", "cap_mknod",		  "cap_lease",	      "cap_audit_write",
	"cap_audit_control", "cap_setfcap",	   "cap_mac_override",	  "cap_mac_admin",    "cap_syslog",
	"cap_wake_alarm",    "cap_block_suspend",  "cap_audit_read",	  "cap_perfmon",      "cap_bpf",
	"cap_checkpoint_restore",
};

#define CAP_SYS_ADMIN_BIT 21

/* The capabilities an unprivileged CRIU needs, in the order the TypeScript list names them. */
static const struct {
	const char *name;
	int bit;
} NEEDED[] = UNPRIVILEGED_CRIU_CAPABILITIES;

const char *capability_name(int bit, char *buf, size_t len)
{
	if (bit >= 0 && (size_t)bit < sizeof(NAMES) / sizeof(NAMES[0]))
		return NAMES[bit];
	snprintf(buf, len, "cap_%d", bit);
	return buf;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int decode_file_caps(const uint8_t *value, size_t len, struct file_caps *caps, struct crac_error *error)
{
	memset(caps, 0, sizeof(*caps));
	uint32_t magic = len >= 4 ? le32(value) : 0, revision = magic & 0xff000000u;
	int words = revision == 0x01000000u ? 1 : 2;
	size_t size = revision == 0x01000000u ? 12 : revision == 0x02000000u ? 20 : revision == 0x03000000u ? 24 : 0;
	if (size == 0 || len != size)
		return crac_fail(error, CRAC_EIO, "unreadable file capabilities (%zu bytes, magic 0x%x)", len, magic);
	caps->present = 1;
	caps->effective = magic & 1;
	for (int w = 0; w < words; w++) {
		caps->permitted |= (uint64_t)le32(value + 4 + 8 * w) << (32 * w);
		caps->inheritable |= (uint64_t)le32(value + 8 + 8 * w) << (32 * w);
	}
	if (size == 24) {
		caps->has_root_uid = 1;
		caps->root_uid = le32(value + 20);
	}
	return 0;
}

int read_file_caps(const char *path, struct file_caps *caps, struct crac_error *error)
{
	uint8_t value[64];
	memset(caps, 0, sizeof(*caps));
	ssize_t n = getxattr(path, "security.capability", value, sizeof(value));
	if (n < 0 && (errno == ENODATA || errno == ENOTSUP))
		return 0;
	if (n < 0)
		return crac_fail(error, CRAC_EIO, "cannot read the file capabilities of %s: %s", path, strerror(errno));
	return decode_file_caps(value, (size_t)n, caps, error);
}

struct privileges privileges_of(const char *status)
{
	struct privileges p = { 0 };
	char *own = NULL;
	if (!status) {
		FILE *f = fopen("/proc/self/status", "re");
		size_t len = 0;
		if (!f || getdelim(&own, &len, '\0', f) < 0) {
			if (f)
				fclose(f);
			free(own);
			return p;
		}
		fclose(f);
		status = own;
	}
	for (const char *line = status; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "NoNewPrivs:", 11) == 0)
			p.no_new_privs = atoi(line + 11) == 1;
		else if (strncmp(line, "CapEff:", 7) == 0) {
			p.effective = strtoull(line + 7, NULL, 16);
			p.caps_known = 1;
		} else if (strncmp(line, "CapPrm:", 7) == 0)
			p.permitted = strtoull(line + 7, NULL, 16);
		else if (strncmp(line, "CapInh:", 7) == 0)
			p.inheritable = strtoull(line + 7, NULL, 16);
		else if (strncmp(line, "CapBnd:", 7) == 0)
			p.bounding = strtoull(line + 7, NULL, 16);
	}
	free(own);
	return p;
}

int runs_unprivileged(uid_t euid, const struct privileges *p)
{
	if (euid != 0)
		return 1;
	/* a container's root (podman, Docker and Kubernetes give no cap_sys_admin by default): CRIU's
	 * privileged mode fails at its first kernel probe, its unprivileged one works */
	return p->caps_known && !(p->effective >> CAP_SYS_ADMIN_BIT & 1);
}

int criu_runs_unprivileged(void)
{
	struct privileges p = privileges_of(NULL);
	return runs_unprivileged(geteuid(), &p);
}

/* The needed capabilities not in `have`, "a and b" into `names` and "a,b" into `list`; how many. */
static int lacking(uint64_t have, char *names, size_t names_len, char *list, size_t list_len)
{
	int count = 0;
	names[0] = '\0';
	if (list && list_len)
		list[0] = '\0';
	for (size_t i = 0; i < sizeof(NEEDED) / sizeof(NEEDED[0]); i++) {
		if (have >> NEEDED[i].bit & 1)
			continue;
		size_t used = strlen(names);
		snprintf(names + used, names_len - used, "%s%s", count ? " and " : "", NEEDED[i].name);
		if (list && list_len) {
			used = strlen(list);
			snprintf(list + used, list_len - used, "%s%s", count ? "," : "", NEEDED[i].name);
		}
		count++;
	}
	return count;
}

int criu_not_executable(const char *path, struct crac_error *error)
{
	uid_t euid = geteuid();
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0 || errno != EACCES)
		return 0;
	struct stat st;
	char group[64], buf[1024];
	struct group entry, *found = NULL;
	if (stat(path, &st) != 0)
		return 0;
	if (getgrgid_r(st.st_gid, &entry, buf, sizeof(buf), &found) == 0 && found)
		snprintf(group, sizeof(group), "%s", found->gr_name);
	else
		snprintf(group, sizeof(group), "%u", (unsigned)st.st_gid);
	crac_fail(error, CRAC_EUNPRIVILEGED,
		  "uid %u may not run CRIU at %s (group %s, mode %o): a CRIU granted the capabilities is for the members "
		  "of its group alone (see the README's Security model); as root, `usermod -aG %s <user>` makes this "
		  "user one, from its next login",
		  (unsigned)euid, path, group, (unsigned)(st.st_mode & 07777), group);
	return 1;
}

int criu_capability_problem(const char *path, uid_t euid, const struct privileges *p, const struct file_caps *file,
			    char *missing, size_t missing_len, struct crac_error *error)
{
	char names[256], all[256], granted[256];
	if (euid == 0) {
		/* a container's root: CRIU runs with root's own capabilities (exec keeps them), not its file's */
		if (!lacking(p->effective, names, sizeof(names), missing, missing_len))
			return 0;
		char flags[256] = "";
		for (size_t i = 0; i < sizeof(NEEDED) / sizeof(NEEDED[0]); i++) {
			if (p->effective >> NEEDED[i].bit & 1)
				continue;
			size_t used = strlen(flags);
			snprintf(flags + used, sizeof(flags) - used, "%s--cap-add ", used ? " " : "");
			for (const char *c = NEEDED[i].name + 4; *c && strlen(flags) + 1 < sizeof(flags); c++) {
				size_t at = strlen(flags);
				flags[at] = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
				flags[at + 1] = '\0';
			}
		}
		return crac_fail(error, CRAC_ECRIU_CAPS,
				 "this process is root without cap_sys_admin (a container's root) and lacks %s, which CRIU's checkpoint and "
				 "restore need: give the container %s (Kubernetes: securityContext.capabilities.add), see docs/containers.md",
				 names, flags);
	}
	if (p->no_new_privs) {
		lacking(0, names, sizeof(names), missing, missing_len);
		return crac_fail(error, CRAC_ECRIU_CAPS,
				 "this process runs with no_new_privs, so CRIU at %s would run without its file capabilities: checkpoint and "
				 "restore as a non-root user outside no_new_privs (systemd NoNewPrivileges=, a container's no-new-privileges), "
				 "or as root",
				 path);
	}
	/* without the effective flag CRIU runs with none of them effective: it never raises its own */
	uint64_t have = file->present && file->effective ? file->permitted : 0;
	if (!lacking(have, names, sizeof(names), missing, missing_len))
		return 0;
	lacking(0, all, sizeof(all), granted, sizeof(granted));
	return crac_fail(error, CRAC_ECRIU_CAPS,
			 "CRIU at %s lacks %s, which a non-root user's checkpoint and restore need: as root, run `setcap %s+ep %s` (or "
			 "`crac check --grant-capabilities`)",
			 path, names, granted, path);
}

/* "--cap-add CHOWN": the container engine's flag for capability `bit` into `out`. */
static void cap_add_flag(int bit, char *out, size_t len)
{
	char buf[16];
	const char *name = capability_name(bit, buf, sizeof(buf)) + 4; /* past "cap_" */
	size_t n = (size_t)snprintf(out, len, "--cap-add ");
	for (; *name && n + 1 < len; name++)
		out[n++] = (char)(*name >= 'a' && *name <= 'z' ? *name - 'a' + 'A' : *name);
	out[n < len ? n : len - 1] = '\0';
}

int restore_capability_problem(uint64_t permitted, uint64_t inheritable, const struct privileges *p, struct crac_error *error)
{
	/* capset(2): permitted within ours; inheritable within ours and the bounding set */
	uint64_t missing = (permitted & ~p->permitted) | (inheritable & ~(p->inheritable | p->bounding));
	if (!p->caps_known || !missing)
		return 0;
	char names[1024] = "", flags[1024] = "";
	int count = 0;
	for (int bit = 0; bit < 64; bit++) {
		if (!(missing >> bit & 1))
			continue;
		char buf[16], flag[48];
		size_t used = strlen(names);
		snprintf(names + used, sizeof(names) - used, "%s%s", count ? ", " : "", capability_name(bit, buf, sizeof(buf)));
		cap_add_flag(bit, flag, sizeof(flag));
		used = strlen(flags);
		snprintf(flags + used, sizeof(flags) - used, "%s%s", count ? " " : "", flag);
		count++;
	}
	return crac_fail(error, CRAC_ECRIU_CAPS,
			 "the app of this image had %s, which this process lacks and so cannot give back (CRIU's restore would stop "
			 "every thread of the app mid-way and wait for them forever): restore with the capabilities the image was "
			 "made with: give the container %s (Kubernetes: securityContext.capabilities.add), or make the image with "
			 "those the restore will have",
			 names, flags);
}

int assert_criu_capabilities(const char *path, struct crac_error *error)
{
	struct privileges p = privileges_of(NULL);
	struct file_caps file = { 0 };
	if (geteuid() != 0 && !p.no_new_privs && read_file_caps(path, &file, error) != 0)
		return -1;
	return criu_capability_problem(path, geteuid(), &p, &file, NULL, 0, error);
}
