/*
 * verify_gate.h - the page files hashed while CRIU restores, and the app resumed only once they
 * hashed right. A full verification (a fresh container: every file counts as touched since the
 * seal) hashed everything before CRIU started: 17 ms of a 16 MiB image here, on the restore's
 * critical path. The small files (CRIU parses them) are still hashed first; the page files
 * (pages-*.img, data CRIU's restorer copies into memory) are hashed by a thread of crac-restore
 * meanwhile. CRIU runs crac-restore itself as its action script: at post-restore, every page in
 * place, the app not yet resumed, the script waits for the thread's verdict on a FIFO in the
 * restore's private work directory; anything but "ok" fails it, and CRIU then kills the restored
 * tasks (a failed post-restore script aborts a restore in CRIU 4.2: cr-restore.c). CRIU closes
 * every descriptor but stdio before it runs a script, hence a path.
 */
#ifndef CRAC_VERIFY_GATE_H
#define CRAC_VERIFY_GATE_H

#include <limits.h>
#include <pthread.h>

#include "base/crac_error.h"
#include "image/image.h"

/* The variable naming the FIFO, in CRIU's environment (and so its scripts'). */
#define VERIFY_GATE_ENV "CRAC_VERIFY_GATE"

struct verify_gate {
	struct deferred_hashes *deferred;
	const char *dir;
	char path[PATH_MAX];
	int fifo; /* read and write: open never blocks, the verdict waits there for the script */
	pthread_t thread;
	int started;
	int failed;
	double hash_ms; /* how long the hashing took, once verify_gate_wait() returned */
	struct crac_error error;
};

/* crac-restore run by CRIU as its action script (CRTOOLS_SCRIPT_ACTION and VERIFY_GATE_ENV set): 1 and its exit code in `code`; else 0. */
int verify_gate_script(int *code);
/* The FIFO in `work_dir`, named in this process's environment for CRIU: 0, or -1 and `error`. */
int verify_gate_open(struct verify_gate *gate, struct deferred_hashes *deferred, const char *dir, const char *work_dir,
		     struct crac_error *error);
/* In the supervisor: the FIFO is not its to hold. */
void verify_gate_leave(struct verify_gate *gate);
/* Once the supervisor is forked: the variable unset here, the hashing started. */
void verify_gate_start(struct verify_gate *gate);
/* Waits for the verdict: 0 when every page file hashed right, else -1 (the reason in gate->error). */
int verify_gate_wait(struct verify_gate *gate);

#endif
