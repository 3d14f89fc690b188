import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ErrorCode } from '../../errors.js';
import { CONTROL_PROTOCOL, MAX_CONTROL_LINE, parseControlRequest } from '../control-socket.js';
import { parseReply } from '../trigger-client.js';
import { referenceRead } from './lines-target.js';
import { hashBytes, Random } from './random.js';
import { assertReply } from './reply-target.js';
import type { FuzzTarget } from './target.js';

/** The id of the request whose cycle the server process holds for the whole campaign. */
const HELD_ID = 'fuzz-held-cycle';

/** How long one connection may take before the server is taken for stuck. */
const CONNECTION_TIMEOUT_MS = 10_000;

/**
 * The checkpoint trigger end to end: a server process (`serverChild`, the bundle of
 * server-child.ts) holding one cycle, and each input sent on a connection of its own over its
 * real unix socket (in one to four writes, cut where the input's hash says). The server answers
 * each complete line exactly as its reader and its rules say (`refused` with `CRAC_ETRIGGER` and
 * no id for what is not a request, `unknown` for a status, `refused` with `CRAC_EBUSY` for a
 * checkpoint or prepare while the held cycle runs), in order, one JSON line each; a line over
 * the limit ends the connection after at most the replies before it; the process never dies,
 * and after each input a status request on a new connection is answered.
 *
 * Slower than the others (two connections an execution): the campaign gives it a time budget.
 */
export async function triggerServerTarget(serverChild: string): Promise<FuzzTarget> {
  const runtimeDir = mkdtempSync(join(tmpdir(), 'crac-fuzz-trigger-'));
  const server = await startServer(serverChild, runtimeDir);
  const held = await converse(server.path, `${JSON.stringify({ protocol: CONTROL_PROTOCOL, command: 'checkpoint', id: HELD_ID })}\n`);
  assert.deepEqual(replyLines(held.received), [{ event: 'accepted', id: HELD_ID }], 'the held cycle was accepted');
  let probes = 0;
  return {
    name: 'trigger_server',
    maxInputLength: MAX_CONTROL_LINE + 8192,
    async execute(input) {
      const random = new Random(hashBytes(input));
      const expected = referenceRead(input, MAX_CONTROL_LINE);
      const conversation = await converse(server.path, input, random);
      server.assertAlive();
      const replies = replyLines(conversation.received);
      const wanted = expected.lines.map(expectedReply);
      if (expected.ended) assert.deepEqual(replies, wanted.slice(0, replies.length), 'the replies before the over-long line');
      else assert.deepEqual(replies, wanted, 'one reply a line, in order');
      // still serving
      const id = `probe-${probes++}`;
      const probe = await converse(server.path, `${JSON.stringify({ protocol: CONTROL_PROTOCOL, command: 'status', id })}\n`);
      server.assertAlive();
      assert.deepEqual(replyLines(probe.received), [{ event: 'unknown', id }], 'a status request after it is answered');
      return `${expected.ended ? 'ended' : 'open'} ${[...new Set(replies.map((reply) => reply.code ?? reply.event))].sort().join(',')}`;
    },
    async close() {
      await server.stop();
      rmSync(runtimeDir, { recursive: true, force: true });
    },
  };
}

/** What the server answers a line with (the parts that do not change with wording). */
interface ReplyEssentials {
  event: string;
  id: string;
  code?: string;
}

function expectedReply(line: string): ReplyEssentials {
  const request = parseControlRequest(line);
  if (!request) return { event: 'refused', id: '', code: ErrorCode.TRIGGER };
  if (request.command === 'status') return { event: 'unknown', id: request.id };
  return { event: 'refused', id: request.id, code: ErrorCode.BUSY };
}

/** The reply lines received, each read by the requester's own reader and checked; a cut last line is not one. */
function replyLines(received: Buffer): ReplyEssentials[] {
  const lines = received.toString('utf8').split('\n');
  lines.pop();
  return lines.map((line) => {
    const reply = parseReply(line);
    assert.ok(reply, `the server answered something that is not a reply: ${line.slice(0, 200)}`);
    assertReply(reply);
    const code = 'error' in reply ? reply.error?.code : undefined;
    if (reply.event === 'refused') assert.match(code ?? '', /^CRAC_E[A-Z_]+$/, 'a refusal has a CRAC_E code');
    return { event: reply.event, id: reply.id, ...(code === undefined ? {} : { code }) };
  });
}

interface ServerProcess {
  path: string;
  assertAlive(): void;
  stop(): Promise<void>;
}

async function startServer(serverChild: string, runtimeDir: string): Promise<ServerProcess> {
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(process.execPath, [serverChild], {
    env: { ...process.env, CRAC_RUNTIME_DIR: runtimeDir, CRAC_ENGINE: 'simulate', CRAC_AUTO: 'off' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `the server process ended (${signal ?? `exit code ${code}`}):\n${stderr}`;
  });
  const path = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.once('exit', () => reject(new Error(exited)));
  });
  return {
    path,
    assertAlive: () => assert.equal(exited, undefined),
    stop: () =>
      new Promise((resolve) => {
        if (exited !== undefined) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

/**
 * Connects to `path`, sends `input` (cut into up to four writes when `random` is given), ends its
 * side, and collects what the server sends until the connection closes.
 */
function converse(path: string, input: Buffer | string, random?: Random): Promise<{ received: Buffer }> {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  const cuts = random ? Array.from({ length: random.below(4) }, () => random.below(bytes.length + 1)).sort((a, b) => a - b) : [];
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new assert.AssertionError({ message: `the connection was neither answered nor closed within ${CONNECTION_TIMEOUT_MS} ms` }));
    }, CONNECTION_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    // the server ends a connection whose line is too long while this side still writes
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(received) });
    });
    socket.once('connect', () => {
      let from = 0;
      for (const cut of cuts) {
        socket.write(bytes.subarray(from, cut));
        from = cut;
      }
      socket.end(bytes.subarray(from));
    });
  });
}
