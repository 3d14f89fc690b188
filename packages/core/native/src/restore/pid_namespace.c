/* pid_namespace.c - whether to restore into a new pid namespace. */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

#include "proc/proc_stat.h"
#include "restore.h"

/* How long to wait for zombies holding the image's pids to be reaped. */
#define ZOMBIE_WAIT_MS 3000

/* The image's ids that a process of this pid namespace holds; the first in *first. */
static size_t taken_ids(const struct manifest *m, long *first, int *all_dead)
{
	size_t taken = 0;
	*all_dead = 1;
	for (size_t i = 0; i < m->nids; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/proc/%ld", m->ids[i]);
		if (access(path, F_OK) != 0)
			continue;
		if (taken++ == 0)
			*first = m->ids[i];
		if (proc_alive(m->ids[i]))
			*all_dead = 0;
	}
	return taken;
}

/*
 * Whether to restore into a new pid namespace `auto`: always, as
 * looking whether the image's pids are free is a race (copies of one image started together
 * all see them free); except where CRIU cannot restore into one: an image checkpointed on a
 * terminal, and any unprivileged restore (a pid namespace needs root). Those wait a little for
 * zombies holding their pids; the terminal one gets a namespace if a live process holds one,
 * the unprivileged one is refused. 1/0, or -1 with `error`.
 */
int use_pid_namespace(const struct manifest *m, enum pid_namespace_mode mode, int on_terminal, int unprivileged,
			     struct crac_error *error)
{
	if (unprivileged && mode == PIDNS_ALWAYS)
		return crac_fail(error, CRAC_EUNPRIVILEGED,
				 "--pid-namespace always needs root (CAP_SYS_ADMIN): a non-root user restores in the host pid namespace");
	if (mode == PIDNS_ALWAYS)
		return 1;
	if (mode == PIDNS_AUTO && !on_terminal && !unprivileged)
		return 1;
	double deadline = now_ms() + ZOMBIE_WAIT_MS;
	long first = 0;
	int all_dead;
	size_t taken = taken_ids(m, &first, &all_dead);
	while (taken > 0 && all_dead && now_ms() < deadline) {
		usleep(50 * 1000);
		taken = taken_ids(m, &first, &all_dead);
	}
	/* never: CRIU then says which pid is taken, and the fix */
	if (taken == 0 || mode == PIDNS_NEVER)
		return 0;
	if (unprivileged)
		return crac_fail(error, CRAC_EUNPRIVILEGED,
				 "pid %ld that the image needs is taken, and only root can restore into a new pid namespace where it would "
				 "be free: end process %ld (a copy of this image still running?), or restore as root",
				 first, first);
	if (on_terminal)
		return crac_fail(error, CRAC_ECRIU_RESTORE,
				 "pid %ld that the image needs is taken, and an app checkpointed on a terminal cannot be restored in a new "
				 "pid namespace (CRIU cannot hand it the terminal there): end process %ld, or checkpoint with stdout and "
				 "stderr on a file or a pipe",
				 first, first);
	return 1;
}

