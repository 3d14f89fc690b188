/**
 * What a terminal or a supervisor sends that the app, not its launcher, should handle: the
 * signals `crac checkpoint` passes on to the app it started, and the restorer's supervisor to the
 * restored app (native/definitions.mjs writes them into `crac/signals.h`). SIGUSR1 is the app's
 * as well: listening for it also keeps Node from opening an inspector in the launcher.
 */
export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;
