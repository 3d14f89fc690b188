/*
 * watch.c - `crac-guard --watch`: what `crac checkpoint` started ends with it, even when it is
 * SIGKILLed (the OOM killer, `timeout -s KILL`), which leaves it no chance to clean up.
 *
 * The CLI starts this first, with a pipe on its stdin, and writes a line for each thing it starts:
 *   tree PID    PID and every process under it (the app: crac-guard exec'd into it, or npm and
 *               what npm starts; the trial restore of --working-set)
 *   group PGID  the process group PGID leads (a warm-up command runs in one of its own)
 *   dir PATH    a private directory of the CLI's (the --working-set trial's): removed, with the
 *               files in it, once the processes are stopped (only a directory of this user's,
 *               0700, not a symbolic link; no subdirectory is entered)
 * At the end of the pipe (the CLI has exited, however), what is still there of these gets
 * SIGTERM, and SIGKILL WATCH_GRACE_MS later. A process is known by its pid and start time, read
 * when its line arrives: a pid reused since is left alone. After a normal end the CLI has stopped
 * everything itself, and this finds nothing to do. It leaves the CLI's process group first: a
 * signal to that group (a terminal's Ctrl-C, `kill -PGID`) is the CLI's to handle.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "watch.h"
#include "proc/proc_stat.h"

#define WATCH_GRACE_MS 5000
#define MAX_WATCHED 64
#define MAX_MEMBERS 4096
#define MAX_DIRS 8

static char dirs[MAX_DIRS][PATH_MAX];
static size_t ndirs;

struct watched {
	int group; /* 1: a process group; 0: a tree */
	pid_t pid;
	unsigned long long start;
};

struct member {
	pid_t pid;
	unsigned long long start;
};

static struct member members[MAX_MEMBERS];
static size_t nmembers;

static int known(pid_t pid)
{
	for (size_t i = 0; i < nmembers; i++)
		if (members[i].pid == pid)
			return 1;
	return 0;
}

/* `pid` as a member, when it is still the process that started at `start`. */
static void add_member(pid_t pid, unsigned long long start)
{
	if (start && proc_start_time(pid) == start && !known(pid) && nmembers < MAX_MEMBERS)
		members[nmembers++] = (struct member){ pid, start };
}

/* Adds the children of every member, until none is new (a process reparented since stays a member). */
static void gather_children(void)
{
	for (int changed = 1; changed;) {
		changed = 0;
		DIR *proc = opendir("/proc");
		if (!proc)
			return;
		for (struct dirent *entry; (entry = readdir(proc));) {
			char *end;
			long pid = strtol(entry->d_name, &end, 10);
			if (*end || pid <= 0 || known((pid_t)pid))
				continue;
			pid_t parent = proc_parent((pid_t)pid);
			if (parent > 0 && known(parent)) {
				size_t before = nmembers;
				add_member((pid_t)pid, proc_start_time((pid_t)pid));
				changed |= nmembers != before;
			}
		}
		closedir(proc);
	}
}

/* The members still alive (same start time), signalled with `sig`; their number. */
static size_t signal_members(int sig)
{
	size_t alive = 0;
	for (size_t i = 0; i < nmembers; i++) {
		if (proc_start_time(members[i].pid) != members[i].start || !proc_alive(members[i].pid))
			continue;
		alive++;
		if (sig)
			kill(members[i].pid, sig);
	}
	return alive;
}

/*
 * The groups whose leader is still the process registered, or gone (the rest of its group
 * cannot share its pid with another), signalled with `sig`; the number that had a process.
 */
static size_t signal_groups(const struct watched *watched, size_t n, int sig)
{
	size_t signalled = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned long long start = proc_start_time(watched[i].pid);
		if (watched[i].group && (start == watched[i].start || start == 0) && kill(-watched[i].pid, sig) == 0)
			signalled++;
	}
	return signalled;
}

/* Removes `path` and the files in it when it is a directory of ours alone; anything else stays. */
static void remove_private_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return;
	DIR *dir = fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 077) == 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		close(fd);
		return;
	}
	for (struct dirent *entry; (entry = readdir(dir));)
		if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, ".."))
			unlinkat(fd, entry->d_name, 0); /* a subdirectory fails (EISDIR): it stays, and so does its parent */
	closedir(dir);
	rmdir(path);
}

static void read_watched(struct watched *watched, size_t *n)
{
	char line[PATH_MAX + 16], kind[16];
	long pid;
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "dir /", 5)) {
			line[strcspn(line, "\n")] = '\0';
			size_t len = strlen(line + 4);
			if (ndirs < MAX_DIRS && len < PATH_MAX)
				memcpy(dirs[ndirs++], line + 4, len + 1);
			continue;
		}
		if (sscanf(line, "%15s %ld", kind, &pid) != 2 || pid <= 1 || (strcmp(kind, "tree") && strcmp(kind, "group"))) {
			fprintf(stderr, "crac-guard --watch: cannot read '%.*s'\n", (int)strcspn(line, "\n"), line);
			continue;
		}
		unsigned long long start = proc_start_time((pid_t)pid);
		if (start && *n < MAX_WATCHED)
			watched[(*n)++] = (struct watched){ !strcmp(kind, "group"), (pid_t)pid, start };
	}
}

int watch_main(void)
{
	/* out of the CLI's process group; a terminal's signals are the CLI's to handle */
	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	struct watched watched[MAX_WATCHED];
	size_t n = 0;
	read_watched(watched, &n);

	for (size_t i = 0; i < n; i++)
		if (!watched[i].group)
			add_member(watched[i].pid, watched[i].start);
	gather_children();
	size_t left = signal_members(SIGTERM), groups = signal_groups(watched, n, SIGTERM);
	if (left > 0 || groups > 0)
		fprintf(stderr, "crac: crac checkpoint ended before what it started: stopping %zu process%s and %zu process group%s\n", left,
			left == 1 ? "" : "es", groups, groups == 1 ? "" : "s");
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	for (int waited = 0; waited < WATCH_GRACE_MS; waited += 20) {
		gather_children();
		if (signal_members(0) == 0)
			break;
		nanosleep(&tick, NULL);
	}
	gather_children();
	signal_members(SIGKILL);
	signal_groups(watched, n, SIGKILL);
	for (size_t i = 0; i < ndirs; i++)
		remove_private_dir(dirs[i]);
	return 0;
}
