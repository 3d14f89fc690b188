import { readFileSync } from 'node:fs';

/** CRIU's own `Error (...)` lines of a log, without the harmless RLIMIT_NOFILE warning. */
export function criuErrorLines(logPath: string): string[] {
  let log: string;
  try {
    log = readFileSync(logPath, 'utf8');
  } catch {
    return [];
  }
  return log
    .split('\n')
    .filter((line) => /Error \(/.test(line) && !line.includes('RLIMIT_NOFILE'))
    .map((line) => line.replace(/^\(\d+\.\d+\)\s*/, '').trim());
}

/** Known restore failures, and the option or step that fixes each. */
const ADVICE: [RegExp, string][] = [
  [
    /Can't fork for (\d+): File exists|set_next_pid|clone3.*EEXIST/i,
    'a pid of the image is taken on this host: restore with --pid-namespace always (the default, auto, takes one except for an image checkpointed on a terminal)',
  ],
  [
    /has bad size|bad size/i,
    'a file the process had open changed since the checkpoint (the node binary, the addon, or a log file): restore on the host and build that made the image',
  ],
  [
    /Address already in use|Can't bind/i,
    'a port the process was listening on is taken: stop what holds it, or release it in beforeCheckpoint',
  ],
  [/No such file or directory/i, 'a file the process had open is missing on this host'],
];

/** A one-line hint for the errors of a failed restore, if one is known. */
export function restoreAdvice(errors: string[]): string | undefined {
  const text = errors.join('\n');
  return ADVICE.find(([pattern]) => pattern.test(text))?.[1];
}
