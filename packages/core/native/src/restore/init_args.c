/*
 * init_args.c - `crac-restore --init-args WORK_DIR DIR`: the arguments of crac-init that restore
 * the image in DIR as crac restore would (its own: the pid namespace with --pid-namespace always,
 * the pid file in WORK_DIR, the handoff, the app's listening sockets bound first; then `criu
 * restore`'s), as a JSON array on stdout. For other restorers and the benchmark's floor, which run
 * crac-init with DIR open on IMAGES_DIR_FD: nothing is verified or restored here, and CRIU's
 * arguments exist once, in criu_restore.c.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "criu/capabilities.h"
#include "criu/criu_binary.h"
#include "crac/layout.h"
#include "report.h"
#include "restore.h"
#include "supervise/listen_slots.h"

static void print_arg(const char *arg, int *first)
{
	char quoted[PATH_MAX * 2 + 64];
	json_quote(quoted, sizeof(quoted), arg);
	printf("%s%s", *first ? "" : ",", quoted);
	*first = 0;
}

int print_init_args(const struct image *image, const char *criu_path, const struct options *o, struct crac_error *error)
{
	const struct manifest *m = &image->manifest;
	int unprivileged = criu_runs_unprivileged(), pidns = o->pid_namespace == PIDNS_ALWAYS;
	if (unprivileged && pidns)
		return crac_fail(error, CRAC_EUNPRIVILEGED,
				 "a restore into a new pid namespace needs root (CAP_SYS_ADMIN); an unprivileged restore uses the host pid "
				 "namespace");
	char pidfile[PATH_MAX + 16];
	snprintf(pidfile, sizeof(pidfile), "%s/restored.pid", o->init_args);
	char **criu_argv = criu_arguments(m, criu_path, o->init_args, pidfile, unprivileged, 0);
	if (!criu_argv)
		return crac_fail(error, CRAC_ENOMEM, "out of memory");
	int first = 1;
	printf("[");
	if (pidns)
		print_arg("--pidns", &first);
	print_arg("--pidfile", &first);
	print_arg(pidfile, &first);
	if (m->handoff) {
		char fd[16];
		snprintf(fd, sizeof(fd), "%d", HANDOFF_FD);
		print_arg("--handoff-fd", &first);
		print_arg(fd, &first);
		/* the port rule needs the restoring environment, which only a handoff gives the app */
		for (size_t i = 0; i < m->nlisteners; i++) {
			const struct listener_record *r = &m->listeners[i];
			struct listen_spec spec;
			char text[PATH_MAX + 512];
			if (listen_spec_of_record(r->host, r->port, r->port_env, r->port_env_value, r->slot, &spec) != 0 ||
			    listen_spec_format(&spec, text, sizeof(text)) != 0)
				return crac_fail(error, CRAC_EIMAGE, "%s: listener %zu cannot be handed to crac-init", image->dir, i);
			print_arg("--listen", &first);
			print_arg(text, &first);
		}
	}
	print_arg("--", &first);
	for (char **arg = criu_argv; *arg; arg++)
		print_arg(*arg, &first);
	printf("]\n");
	return 0;
}
