/**
 * The exit codes of crac's programs, as a shell reads them: `crac` and the native ones
 * (crac-restore, crac-init, crac-guard) use these, which native/definitions.mjs writes into
 * `crac/exit_codes.h` for the C side.
 */
export const ExitCode = {
  OK: 0,
  /** The checkpoint, the restore or a check failed. */
  FAILED: 1,
  /** The command line was wrong. */
  USAGE: 2,
  /** `crac restore`: the restore itself failed, the app never ran (as `docker run` uses 125). */
  RESTORE_FAILED: 125,
  /** The command could not be executed (as a shell says of a command it cannot run). */
  EXEC_FAILED: 127,
} as const;
