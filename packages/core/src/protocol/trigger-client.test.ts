// requestCheckpoint() against a scripted trigger on this process's control socket: the dump is a
// phase of its own, with its own bound, and outlasting it is a coded error rather than a "too
// long" that a caller would answer with SIGTERM mid-dump.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { controlSocketPath, ensureControlDir, MAX_CONTROL_LINE, readLines } from './control-socket.js';
import { DumpTimeoutError, parseReply, requestCheckpoint } from './trigger-client.js';

let runtimeDir: string;
const savedRuntimeDir = process.env.CRAC_RUNTIME_DIR;
const servers: Server[] = [];

beforeEach(() => {
  runtimeDir = mkdtempSync(join(tmpdir(), 'crac-trigger-'));
  process.env.CRAC_RUNTIME_DIR = runtimeDir;
  ensureControlDir();
});

afterEach(() => {
  for (const server of servers.splice(0)) server.close();
  if (savedRuntimeDir === undefined) delete process.env.CRAC_RUNTIME_DIR;
  else process.env.CRAC_RUNTIME_DIR = savedRuntimeDir;
  rmSync(runtimeDir, { recursive: true, force: true });
});

type Line = { command: string; id: string };

/** Listens where this process's trigger would; `onLine` answers each request line. */
function listen(onLine: (request: Line, socket: Socket) => void): Promise<Server> {
  const server = createServer((socket) => readLines(socket, MAX_CONTROL_LINE, (line) => onLine(JSON.parse(line) as Line, socket)));
  servers.push(server);
  return new Promise((resolve) => server.listen(controlSocketPath('self'), () => resolve(server)));
}

/** A trigger that accepts, says it is dumping and closes its socket, as the real one does before a dump. */
async function dumpingTrigger(): Promise<{ id: Promise<string>; server: Server }> {
  let gotId: (id: string) => void = () => {};
  const id = new Promise<string>((resolve) => {
    gotId = resolve;
  });
  const server = await listen((request, socket) => {
    if (request.command !== 'checkpoint') return;
    gotId(request.id);
    socket.write(`${JSON.stringify({ event: 'accepted', id: request.id })}\n`);
    socket.end(`${JSON.stringify({ event: 'dumping', id: request.id, imagesDir: '/images/app' })}\n`);
    server.close();
  });
  return { id, server };
}

describe('requestCheckpoint() while the process dumps', () => {
  it('fails with CRAC_EDUMP_TIMEOUT when the dump outlasts its bound, naming the checkpoint to look for', async () => {
    const { id } = await dumpingTrigger();
    const error = await requestCheckpoint(process.pid, { dumpTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DumpTimeoutError);
    expect(error).toMatchObject({
      code: ErrorCode.DUMP_TIMEOUT,
      pid: process.pid,
      checkpointId: await id,
      imagesDir: '/images/app',
      message: expect.stringContaining('it was sent no signal'),
    });
  });

  it('does not count the dump against the cycle’s timeout', async () => {
    const { id } = await dumpingTrigger();
    // the process answers again after a dump longer than the cycle's whole timeout
    setTimeout(async () => {
      const checkpointId = await id;
      await listen((request, socket) => {
        socket.end(`${JSON.stringify({ event: 'settled', id: checkpointId, outcome: 'checkpointed', asked: request.command })}\n`);
      });
    }, 1_500);
    await expect(requestCheckpoint(process.pid, { timeoutMs: 1_000, dumpTimeoutMs: 60_000 })).resolves.toEqual({
      outcome: 'checkpointed',
    });
  });
});

describe('parseReply', () => {
  const id = 'r1';

  it('reads every reply the trigger writes', () => {
    for (const reply of [
      { event: 'accepted', id },
      { event: 'dumping', id, imagesDir: '/images/app' },
      { event: 'dumping', id },
      { event: 'settled', id, outcome: 'checkpointed' },
      { event: 'settled', id, error: { message: 'a hook failed', code: ErrorCode.CHECKPOINT } },
      { event: 'unknown', id },
      { event: 'refused', id: '', error: { code: ErrorCode.TRIGGER, message: 'not a request' } },
    ]) {
      expect(parseReply(JSON.stringify(reply))).toEqual(reply);
    }
  });

  it('refuses a line whose fields have other types than its event’s (found by fuzzing: any event string was read)', () => {
    for (const reply of [
      { event: 'settleéd', id, outcome: 'checkpointed' },
      { event: 'dumping', id, imagesDir: 7 },
      { event: 'accepted', id: 7 },
      { event: 'accepted' },
      { event: 'settled', id, outcome: {} },
      { event: 'settled', id, error: 'boom' },
      { event: 'settled', id, error: { code: 7, message: 'boom' } },
      { event: 'refused', id },
      { event: 'refused', id, error: { code: ErrorCode.BUSY } },
      [{ event: 'accepted', id }],
      null,
    ]) {
      expect(parseReply(JSON.stringify(reply)), JSON.stringify(reply)).toBeUndefined();
    }
    expect(parseReply('not json')).toBeUndefined();
  });
});
