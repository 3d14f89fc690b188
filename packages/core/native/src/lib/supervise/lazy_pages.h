/*
 * lazy_pages.h - the memory server of a working-set restore: CRIU's `criu lazy-pages`, which
 * serves the restored app's lazy pages through userfaultfd (each on its first touch, and all the
 * rest in the background once CRIU says the restore finished), and exits 0 once every page is in.
 *
 * A restored app's lazy memory is only right while that server runs: were it to end early, the
 * kernel would unregister its userfaultfd and the pages not yet in would read as zeros. So the
 * supervisor that starts it ends the app, at once, when it ends otherwise than done (supervise.c).
 *
 * To record a working set, a relay stands between CRIU and the server and never passes on CRIU's
 * "restore finished": nothing is sent in the background, so every page the app touches faults,
 * and the server's -v4 log names it (`#PF at 0x...`).
 */
#ifndef CRAC_LAZY_PAGES_H
#define CRAC_LAZY_PAGES_H

#include <stddef.h>
#include <sys/types.h>

/* CRIU's file name of the socket a lazy-pages server listens on, in its work directory (criu/uffd.c). */
#define LAZY_PAGES_SOCKET "lazy-pages.socket"
/* What CRIU's restore sends the server once the app's tree is restored (criu/uffd.c: "ReSTore Finished"). */
#define LAZY_PAGES_RESTORE_FINISHED 0x52535446u

/* The server's descriptors: the image on IMAGES_DIR_FD (3), as CRIU's; its log (`-o /proc/self/fd/4`);
 * the pipe it says it listens on (`--status-fd 5`). No other descriptor reaches it. */
#define LAZY_PAGES_LOG_FD 4
#define LAZY_PAGES_STATUS_FD 5

struct lazy_pages {
	char **argv;		  /* `criu lazy-pages -D /proc/self/fd/3 -W <server_dir> -o /proc/self/fd/4 --status-fd 5 ...` */
	const char *server_dir;	  /* its work directory: its socket appears there */
	int log_fd;		  /* its log, opened by the caller */
	const char *relay_socket; /* NULL; or where CRIU connects (its own work directory's socket), relayed, held back */
	pid_t server, relay;	  /* 0 until started; 0 again once reaped */
};

/*
 * Starts the server (and the relay), and returns once CRIU can connect: 0, or -1 with the reason
 * in `why` (the server ended, or did not listen within 10 s; what was started is stopped).
 */
int lazy_pages_start(struct lazy_pages *lp, char *why, size_t why_len);

/* Whether this process may open a userfaultfd (as CRIU's restorer will for the app): 0, or -1 with errno. */
int lazy_pages_available(void);

/* Ends the server and the relay (SIGKILL) and reaps them; nothing when they ended already. */
void lazy_pages_stop(struct lazy_pages *lp);

#endif
