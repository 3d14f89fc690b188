import { readSync } from 'node:fs';
import { ErrorCode } from '../errors.js';

/** What the restoring environment changed in `process.env`. */
export interface EnvironmentChanges {
  /** Variables that are new or have another value: their new values. */
  set: Record<string, string>;
  /** Variables the restorer does not have, removed from `process.env`. */
  removed: string[];
}

/**
 * The first bytes of a restore handoff, version 1: then the restorer's environment as
 * `/proc/PID/environ` has it, `NAME=value` entries each ended by a NUL. See PROTOCOL.md.
 */
export const HANDOFF_MAGIC = 'CRAC-HANDOFF/1\0';

/**
 * Reads the restore handoff from `fd`, the descriptor the process held on its handoff file
 * through the dump, which the restorer replaced with one of its own. Undefined when there is none
 * (the copy was restored by a plain `criu restore`: `fd` is still the empty file), so that the
 * image's environment stays. A handoff in another format is refused with a warning, never applied.
 */
export function readRestoreHandoff(fd: number): Record<string, string> | undefined {
  const raw = readAll(fd);
  if (raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  if (!text.startsWith(HANDOFF_MAGIC)) {
    process.emitWarning(
      `@crac/core: the restorer handed over something this version does not read (${JSON.stringify(text.slice(0, 16))}); process.env stays the image's`,
      { code: ErrorCode.RESTORE_ENVIRONMENT },
    );
    return undefined;
  }
  const environment = parseEnviron(text.slice(HANDOFF_MAGIC.length));
  if (Object.keys(environment).length === 0) {
    // a restorer always has some environment (PATH...): an empty one is a fault, not a wish to wipe process.env
    process.emitWarning("@crac/core: the restorer handed over an empty environment; process.env stays the image's", {
      code: ErrorCode.RESTORE_ENVIRONMENT,
    });
    return undefined;
  }
  return environment;
}

function readAll(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const chunk = Buffer.allocUnsafe(64 * 1024);
  for (;;) {
    const read = readSync(fd, chunk, 0, chunk.length, null);
    if (read === 0) return Buffer.concat(chunks);
    chunks.push(Buffer.from(chunk.subarray(0, read)));
  }
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

/** `NAME=value` entries, each ended by a NUL (the format of `/proc/PID/environ`). */
export function parseEnviron(raw: string): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const entry of raw.split('\0')) {
    const equals = entry.indexOf('=');
    if (equals > 0) environment[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return environment;
}
