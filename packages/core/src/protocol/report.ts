/**
 * How crac's commands report, on stderr one line a phase (`crac: restore       27.4 ms  pid 42`),
 * an error as `crac: error [CODE] message`, and with `--json` one line on stdout
 * (`{"ok", ...result, "phases": [{"phase", "ms", "detail"?}], "error"?: {"code", "message"}}`):
 * `crac` (@crac/cli's output.ts) and the native restorer (report.c, through `crac/report.h`,
 * which native/definitions.mjs writes from this) print the same lines from these.
 */
export const REPORT_FORMAT = {
  /** Every line's start. */
  prefix: 'crac: ',
  /** The phase's name is padded to this width. */
  phaseWidth: 12,
  /** The milliseconds, one decimal, padded to this width, then ` ms`. */
  msWidth: 8,
  /** The ANSI colour of a phase's name and of `error`, on a terminal without NO_COLOR. */
  phaseColor: '32',
  errorColor: '31',
} as const;
