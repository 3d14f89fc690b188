/** Exit codes `crac` scripts can rely on (besides `crac restore` passing on the app's own): @crac/core's, which the native programs use too. */
export { ExitCode } from '@crac/core/protocol';

import { REPORT_FORMAT } from '@crac/core/protocol';

const { prefix, phaseWidth, msWidth, phaseColor, errorColor } = REPORT_FORMAT;

/** One line a phase, with its duration, to stderr (stdout belongs to the app); `--json` gathers them (@crac/core/protocol's REPORT_FORMAT, as the native restorer prints). */
export class Report {
  readonly phases: { phase: string; ms: number; detail?: string }[] = [];
  readonly #json: boolean;
  readonly #color = process.stderr.isTTY && !process.env.NO_COLOR;

  constructor(json: boolean) {
    this.#json = json;
  }

  phase(phase: string, ms: number, detail?: string): void {
    this.phases.push({ phase, ms: Math.round(ms * 10) / 10, ...(detail ? { detail } : {}) });
    if (this.#json) return;
    const name = phase.padEnd(phaseWidth);
    const time = `${ms.toFixed(1).padStart(msWidth)} ms`;
    process.stderr.write(`${prefix}${this.#paint(phaseColor, name)} ${time}${detail ? `  ${detail}` : ''}\n`);
  }

  info(message: string): void {
    if (!this.#json) process.stderr.write(`${prefix}${message}\n`);
  }

  error(error: Error & { code?: string }): void {
    if (this.#json) return;
    const code = error.code ? ` [${error.code}]` : '';
    process.stderr.write(`${prefix}${this.#paint(errorColor, 'error')}${code} ${error.message}\n`);
  }

  /** With `--json`: the result as one JSON line on stdout. */
  finish(result: Record<string, unknown>, error?: Error & { code?: string }): void {
    if (!this.#json) return;
    const failure = error ? { error: { code: error.code, message: error.message } } : {};
    process.stdout.write(`${JSON.stringify({ ...result, phases: this.phases, ...failure })}\n`);
  }

  #paint(color: string, text: string): string {
    return this.#color ? `\x1b[${color}m${text}\x1b[0m` : text;
  }
}

/** Size of a directory's files, in bytes. */
export function formatBytes(bytes: number): string {
  return bytes > 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`;
}
