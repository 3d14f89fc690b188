import { spawn } from 'node:child_process';
import { CracError, ErrorCode } from '@crac/core/protocol';

/** How often a long step says it is still running. */
const HEARTBEAT_MS = 15_000;

/** What `crac setup` prints: one line per step on stdout, the output of long commands on stderr. */
export interface Progress {
  /** One line about a step: what was found, what was done. */
  step(name: string, message: string): void;
  /**
   * Runs a long command, its output streamed to stderr as it comes, with a line every 15 s while
   * it is quiet. Resolves with its stdout.
   * @throws {@link CracError} `CRAC_ESETUP` when it fails, with the end of its output.
   */
  run(title: string, command: string, args: readonly string[], options?: { env?: NodeJS.ProcessEnv }): Promise<string>;
}

/** Progress on the terminal (or whatever stdout and stderr are). */
export function consoleProgress(): Progress {
  return {
    step(name, message) {
      process.stdout.write(`crac setup: ${name.padEnd(16)} ${message}\n`);
    },
    run(title, command, args, options = {}) {
      const started = Date.now();
      const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
      process.stderr.write(`crac setup: ${title}...\n`);
      return new Promise((resolve, reject) => {
        const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let tail = '';
        let lastOutput = Date.now();
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk;
        });
        child.stderr.on('data', (chunk: Buffer) => {
          lastOutput = Date.now();
          tail = `${tail}${chunk}`.slice(-4000);
          process.stderr.write(chunk);
        });
        const heartbeat = setInterval(() => {
          if (Date.now() - lastOutput >= HEARTBEAT_MS) process.stderr.write(`crac setup: ${title}: still running (${elapsed()})\n`);
        }, HEARTBEAT_MS);
        const fail = (why: string) =>
          reject(
            new CracError(ErrorCode.SETUP, `${title} failed (${why}): ${command} ${args.join(' ')}${tail ? `\n${tail.trimEnd()}` : ''}`),
          );
        child.on('error', (error) => {
          clearInterval(heartbeat);
          fail(error.message);
        });
        child.on('close', (code, signal) => {
          clearInterval(heartbeat);
          if (code !== 0) return fail(signal ? `killed by ${signal}` : `exit code ${code}`);
          process.stderr.write(`crac setup: ${title}: done (${elapsed()})\n`);
          resolve(stdout);
        });
      });
    },
  };
}
