/* watch.h - `crac-guard --watch` (watch.c): what crac checkpoint started ends with it. */
#ifndef CRAC_GUARD_WATCH_H
#define CRAC_GUARD_WATCH_H

/* Reads "tree PID" / "group PGID" / "dir PATH" lines from stdin until it ends, then stops what is left of them; returns the exit code. */
int watch_main(void);

#endif
