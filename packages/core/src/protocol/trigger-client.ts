import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CracError, ErrorCode } from '../errors.js';
import { clearAbandonedStagings, failedDumpDir } from '../image/staging.js';
import { sealedImageOf } from './checkpoint-outcome.js';
import {
  CONTROL_PROTOCOL,
  type ControlReply,
  type ControlRequest,
  controlSocketPath,
  ensureControlDir,
  heldMarkerPath,
  MAX_CONTROL_LINE,
  readLines,
} from './control-socket.js';
import { processState } from './processes.js';

/** How a requested checkpoint ended, seen from outside the process. */
export type TriggerOutcome =
  /** The dump succeeded (its image in `imagesDir` is sealed) and the process ended with it (no leave-running). */
  | { outcome: 'dumped'; imagesDir: string }
  /** The process settled the cycle and answered (left running, or simulated). */
  | { outcome: string; imagesDir?: undefined };

/** Options of {@link requestCheckpoint}. */
export interface TriggerOptions {
  imagesDir?: string;
  leaveRunning?: boolean;
  /** How long to wait for the cycle to settle, in ms, not counting the dump itself. Default 120 000. */
  timeoutMs?: number;
  /**
   * How long the dump itself may take, in ms: from the process's `dumping` until it ends or
   * answers again. Default 180 000, above the app's own bound on CRIU (`CRAC_CRIU_TIMEOUT_MS`,
   * 120 s by default), after which the app stops CRIU, rolls back and answers again.
   */
  dumpTimeoutMs?: number;
  /**
   * Settles when the process has ended, if the caller learns it at once (its parent, from the
   * exit event): the wait for the dump's end then stops polling. Without it, the process is
   * polled every 25 ms.
   */
  ended?: Promise<unknown>;
}

/**
 * The process said it was dumping and neither ended nor answered again within `dumpTimeoutMs`
 * (CRIU hung, holding it stopped?). Nothing was sent to it: a stop signal that arrives mid-dump
 * could be saved in the image. Its image is good only if {@link sealedImageOf} says so.
 */
export class DumpTimeoutError extends CracError {
  /** The process that was dumping. */
  readonly pid: number;
  /** The request's id: the `checkpointId` of its image, if it gets sealed. */
  readonly checkpointId: string;
  /** Where its image goes. */
  readonly imagesDir: string | undefined;

  constructor(pid: number, checkpointId: string, imagesDir: string | undefined, waitedMs: number) {
    super(
      ErrorCode.DUMP_TIMEOUT,
      `process ${pid} has been dumping for ${Math.round(waitedMs / 1000)} s, and neither ended nor answered (CRIU hung?); ` +
        'it was sent no signal (one that arrives mid-dump could be saved in the image)',
    );
    this.pid = pid;
    this.checkpointId = checkpointId;
    this.imagesDir = imagesDir;
  }
}

/**
 * Asks process `pid` (started with `@crac/core/register` preloaded) to checkpoint itself,
 * and waits until the cycle settles.
 * @throws {@link CracError} `CRAC_ETRIGGER` when the process cannot be asked, or the error the process reported;
 * {@link DumpTimeoutError} (`CRAC_EDUMP_TIMEOUT`) when its dump outlasts `dumpTimeoutMs`.
 */
export async function requestCheckpoint(pid: number, options: TriggerOptions = {}): Promise<TriggerOutcome> {
  // a directory another user made would hand them this request (and root's)
  ensureControlDir();
  if (!isAlive(pid)) throw new CracError(TRIGGER, `no process ${pid}`);
  const path = controlFileOf(pid, controlSocketPath);
  if (!existsSync(path)) {
    throw new CracError(
      TRIGGER,
      `process ${pid} does not accept checkpoint requests (no ${path}): start it with \`node --require @crac/core/register\` or under \`crac checkpoint\``,
    );
  }
  const id = randomUUID();
  let deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const dumpTimeoutMs = options.dumpTimeoutMs ?? 180_000;
  const request: ControlRequest = {
    protocol: CONTROL_PROTOCOL,
    command: 'checkpoint',
    id,
    ...(options.imagesDir === undefined ? {} : { imagesDir: options.imagesDir }),
    ...(options.leaveRunning === undefined ? {} : { leaveRunning: options.leaveRunning }),
  };
  const first = await exchange(path, request).catch((cause: NodeJS.ErrnoException) => {
    throw new CracError(
      TRIGGER,
      `cannot reach the checkpoint trigger of process ${pid} at ${path} (${cause.code ?? cause.message}): is it still starting?`,
      {
        cause,
      },
    );
  });
  let reply = first;
  let imagesDir: string | undefined;
  /** Set from `dumping` until the process answers again: the dump is its own phase, with its own bound. */
  let dumpingSince: number | undefined;
  // The socket closes for the dump: the process either ends with it or answers again.
  while (reply?.event !== 'settled' && reply?.event !== 'refused') {
    if (reply?.event === 'dumping') {
      imagesDir = reply.imagesDir;
      dumpingSince ??= Date.now();
    } else if (reply !== undefined && dumpingSince !== undefined) {
      deadline += Date.now() - dumpingSince;
      dumpingSince = undefined;
    }
    if (!isAlive(pid)) return ended(pid, id, imagesDir);
    // Mid-dump, the caller must not take "too long" as its cue to stop the process with a signal.
    if (dumpingSince !== undefined && Date.now() - dumpingSince > dumpTimeoutMs) {
      throw new DumpTimeoutError(pid, id, imagesDir, Date.now() - dumpingSince);
    }
    if (dumpingSince === undefined && Date.now() > deadline) {
      throw new CracError(TRIGGER, `process ${pid} did not finish its checkpoint in time`);
    }
    await (options.ended ? Promise.race([sleep(25), options.ended]) : sleep(25));
    reply = await exchange(path, { protocol: CONTROL_PROTOCOL, command: 'status', id }).catch(() => undefined);
  }
  if (reply.event === 'refused' || reply.error) {
    const error = reply.error ?? { message: 'refused' };
    throw new CracError(error.code ?? TRIGGER, `process ${pid} did not checkpoint: ${error.message}`);
  }
  return { outcome: reply.outcome ?? 'unknown' };
}

const TRIGGER = ErrorCode.TRIGGER;

/**
 * Asks process `pid` to prepare for a container engine's checkpoint (an external one: PROTOCOL.md,
 * section 1, `prepare`): every resource lets go, the audit passes, then the process holds for up
 * to `holdMs`. Resolves once it holds (its marker file beside the socket names this request):
 * dump the container now. After the engine's restore each copy notices on its own.
 * @throws {@link CracError} `CRAC_ETRIGGER` when the process cannot be asked, or the error the
 * process reported (a hook failed, the audit refused, a stop signal): the app then runs on.
 */
export async function requestPrepare(pid: number, options: { holdMs?: number; timeoutMs?: number } = {}): Promise<{ id: string }> {
  ensureControlDir();
  if (!isAlive(pid)) throw new CracError(TRIGGER, `no process ${pid}`);
  const path = controlFileOf(pid, controlSocketPath);
  if (!existsSync(path)) {
    throw new CracError(
      TRIGGER,
      `process ${pid} does not accept requests (no ${path}): start it with \`node --require @crac/core/register\``,
    );
  }
  const id = randomUUID();
  const request: ControlRequest = {
    protocol: CONTROL_PROTOCOL,
    command: 'prepare',
    id,
    ...(options.holdMs === undefined ? {} : { holdMs: options.holdMs }),
  };
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const marker = controlFileOf(pid, heldMarkerPath);
  let reply = await exchange(path, request).catch((cause: NodeJS.ErrnoException) => {
    throw new CracError(TRIGGER, `cannot reach the trigger of process ${pid} at ${path} (${cause.code ?? cause.message})`, { cause });
  });
  for (;;) {
    if (reply?.event === 'refused' || (reply?.event === 'settled' && reply.error)) {
      const error = reply.error ?? { message: 'refused' };
      throw new CracError(error.code ?? TRIGGER, `process ${pid} did not prepare: ${error.message}`);
    }
    if (reply?.event === 'settled') throw new CracError(TRIGGER, `process ${pid} settled (${reply.outcome}) instead of holding`);
    if (heldBy(marker) === id) return { id };
    if (!isAlive(pid)) throw new CracError(TRIGGER, `process ${pid} ended while preparing`);
    if (Date.now() > deadline) throw new CracError(TRIGGER, `process ${pid} did not hold in time`);
    await sleep(25);
    // the socket is closed while it holds; it answers again only after a rollback
    reply =
      reply?.event === 'dumping' && !existsSync(path)
        ? reply
        : await exchange(path, { protocol: CONTROL_PROTOCOL, command: 'status', id }).catch(() => reply);
  }
}

function heldBy(marker: string): string | undefined {
  try {
    return readFileSync(marker, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The process ended during its checkpoint: dumped only if its image was sealed. */
async function ended(pid: number, checkpointId: string, imagesDir: string | undefined): Promise<TriggerOutcome> {
  // what it was writing, it will never finish nor clear: nothing is left beside the image
  if (imagesDir) await clearAbandonedStagings(imagesDir);
  if (imagesDir && sealedImageOf(imagesDir, { checkpointId })) return { outcome: 'dumped', imagesDir };
  throw new CracError(
    ErrorCode.CRIU_DUMP,
    `process ${pid} ended during its checkpoint and no sealed image of it is in ${imagesDir ?? 'its image directory'}: it crashed or was killed mid-way (see the app's output${imagesDir ? `, and CRIU's log in ${failedDumpDir(imagesDir)} if it got that far` : ''}); a previous image there is untouched`,
  );
}

/**
 * Sends one request and returns the last meaningful reply before the socket closed. A process
 * that accepts the connection but says nothing within {@link REPLY_TIMEOUT_MS} (its event loop
 * is blocked, or it is not a crac trigger) is given up on.
 */
function exchange(path: string, request: ControlRequest): Promise<ControlReply | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let last: ControlReply | undefined;
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(REPLY_TIMEOUT_MS, () => fail(new CracError(TRIGGER, `no answer on ${path} within ${REPLY_TIMEOUT_MS} ms`)));
    socket.once('error', reject);
    socket.once('connect', () =>
      socket.write(`${JSON.stringify(request)}
`),
    );
    readLines(socket, MAX_CONTROL_LINE, (line) => {
      const reply = parseReply(line);
      if (!reply) return fail(new CracError(TRIGGER, `${path} answered something that is not a control reply: ${line.slice(0, 80)}`));
      // a reply about another request is not this one's (a refusal of the line itself has no id)
      if (reply.id !== request.id && reply.id !== '') return;
      // the process answered: the rest of the cycle may take its time (the caller's deadline bounds it)
      socket.setTimeout(0);
      last = reply;
      if (last.event === 'settled' || last.event === 'refused' || last.event === 'unknown') {
        socket.end();
        resolve(last);
      }
    });
    socket.once('close', () => resolve(last));
  });
}

/** How long a process may take to answer a request at all. */
const REPLY_TIMEOUT_MS = 10_000;

/** Reads one reply line of the app; undefined when it is not a reply of this protocol. Exported for its fuzz target (fuzz/). */
export function parseReply(line: string): ControlReply | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  // Every field is checked, as the event's type has it: the requester reads them as typed (any
  // `event` string was let through, and a `dumping` whose imagesDir was a number made a TypeError
  // of requestCheckpoint's end; found by fuzzing).
  const reply = value as Record<string, unknown>;
  if (typeof reply.id !== 'string') return undefined;
  switch (reply.event) {
    case 'accepted':
    case 'unknown':
      return reply as ControlReply;
    case 'dumping':
      return isOptionalString(reply.imagesDir) ? (reply as ControlReply) : undefined;
    case 'settled':
      return isOptionalString(reply.outcome) && (reply.error === undefined || isReplyError(reply.error))
        ? (reply as ControlReply)
        : undefined;
    case 'refused':
      return isReplyError(reply.error) ? (reply as ControlReply) : undefined;
    default:
      return undefined;
  }
}

const isOptionalString = (value: unknown): boolean => value === undefined || typeof value === 'string';

/** An `error` of a reply: `{ code?: string, message: string }`. */
function isReplyError(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const { code, message } = value as { code?: unknown; message?: unknown };
  return typeof message === 'string' && isOptionalString(code);
}

function isAlive(pid: number): boolean {
  return processState(pid) === 'alive';
}

/** `fileOf(pid)` (the control socket, the held marker) of a live process (CRAC_ETRIGGER when it ended meanwhile). */
function controlFileOf(pid: number, fileOf: (pid: number) => string): string {
  try {
    return fileOf(pid);
  } catch (cause) {
    throw new CracError(TRIGGER, `no process ${pid}`, { cause });
  }
}
