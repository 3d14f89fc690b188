/*
 * proc_stat.h - processes as /proc/PID/stat shows them: alive or not (a zombie is not), when
 * they started (a pid with the same start time is the same process), their session. Read by
 * crac-restore (the image's pids, the restored app) and crac.node (CRIU during a dump).
 */
#ifndef CRAC_PROC_STAT_H
#define CRAC_PROC_STAT_H

#include <sys/types.h>

/* 1 when `pid` runs; 0 when it is a zombie or gone. */
int proc_alive(long pid);
/* Field 22 (the start time, in clock ticks); 0 when the process is gone. */
unsigned long long proc_start_time(pid_t pid);
/* Field 6 (the session); -1 when the process is gone. */
pid_t proc_session(pid_t pid);
/* Field 4 (the parent); -1 when the process is gone. */
pid_t proc_parent(pid_t pid);

#endif
