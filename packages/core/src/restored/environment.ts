import { readFileSync } from 'node:fs';
import { ErrorCode } from '../errors.js';

/** What the restoring environment changed in `process.env`. */
export interface EnvironmentChanges {
  /** Variables that are new or have another value: their new values. */
  set: Record<string, string>;
  /** Variables the restorer does not have, removed from `process.env`. */
  removed: string[];
}

/** The restore supervisor of `crac restore`: it was started with the restorer's environment. */
const RESTORER = 'crac-init';
/** criu, then crac-init (the restored app is a child of the first, then of the second); in a new pid namespace crac-init is pid 1. */
const MAX_ANCESTORS = 3;

/**
 * Reads the environment `crac restore` was started with, from the restore supervisor among
 * this process's ancestors. Undefined when the process was restored some other way (plain
 * `criu restore`): the image's environment then stays.
 */
export function readRestorerEnvironment(): Record<string, string> | undefined {
  for (let attempt = 0; ; attempt++) {
    try {
      return findRestorerEnvironment();
    } catch (error) {
      // an ancestor ended while we looked (CRIU exits as the app resumes): look again
      if (attempt === LOOKUP_ATTEMPTS) {
        process.emitWarning(
          `@crac/core: the restoring environment could not be read (${(error as Error).message}); process.env stays the image's`,
          {
            code: ErrorCode.RESTORE_ENVIRONMENT,
          },
        );
        return undefined;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  }
}

const LOOKUP_ATTEMPTS = 25;

function findRestorerEnvironment(): Record<string, string> | undefined {
  let pid = process.ppid;
  for (let depth = 0; depth < MAX_ANCESTORS && pid > 0; depth++) {
    // /proc/PID/stat stays readable while a process exits (its exe link does not)
    const { comm, ppid } = readStat(pid);
    if (comm === RESTORER) return parseEnviron(readFileSync(`/proc/${pid}/environ`));
    pid = ppid;
  }
  return undefined;
}

/** Makes `process.env` the restorer's environment: new values, removed values. */
export function applyEnvironment(next: Record<string, string>): EnvironmentChanges {
  const changes: EnvironmentChanges = { set: {}, removed: [] };
  for (const name of Object.keys(process.env)) {
    if (!Object.hasOwn(next, name)) {
      delete process.env[name];
      changes.removed.push(name);
    }
  }
  for (const [name, value] of Object.entries(next)) {
    if (process.env[name] !== value) {
      process.env[name] = value;
      changes.set[name] = value;
    }
  }
  return changes;
}

function parseEnviron(raw: Buffer): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const entry of raw.toString('utf8').split('\0')) {
    const equals = entry.indexOf('=');
    if (equals > 0) environment[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return environment;
}

function readStat(pid: number): { comm: string; ppid: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses
  const close = stat.lastIndexOf(')');
  return { comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(stat.slice(close + 2).split(' ')[1]) };
}
