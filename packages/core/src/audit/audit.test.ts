import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, watch, writeFileSync, writeSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointError, checkpointRestore, Context, ErrorCode, getGlobalContext, UnreleasedHandlesError } from '../index.js';
import { auditHandles, findUnreleased } from './audit.js';
import { fdOfHandle } from './node-handles.js';
import { resolvePolicy } from './policy.js';

// The first use of crac-node starts recording where handles are opened (nothing happens at import).
getGlobalContext();

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A TCP server and one connection to it, both opened here. */
async function connection(): Promise<{ server: Server; client: Socket }> {
  const server = createServer((socket) => socket.on('error', () => {}));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { Socket } = await import('node:net');
  const client = new Socket();
  await new Promise<void>((resolve) => client.connect((server.address() as { port: number }).port, '127.0.0.1', resolve));
  cleanups.push(() => {
    client.destroy();
    server.close();
  });
  return { server, client };
}

const onlyFd = (fd: number | undefined) => findUnreleased().entries.filter((entry) => entry.fd === fd);

describe('the audit', () => {
  it('names a TCP connection, its addresses and the line that opened it', async () => {
    const { client } = await connection();
    const [entry] = onlyFd(fdOfHandle(client));
    expect(entry?.kind).toBe('tcp-socket');
    expect(entry?.description).toBe(`TCP socket 127.0.0.1:${client.localPort} -> 127.0.0.1:${client.remotePort} (established)`);
    expect(entry?.createdAt?.location).toMatch(/audit\.test\.ts:\d+:\d+$/);
    expect(entry?.remedy).toBe("close it in a beforeCheckpoint hook, or set unreleased: 'close'");
  });

  it('names a listening server, and the connections it accepted', async () => {
    const { server, client } = await connection();
    const [listener] = onlyFd(fdOfHandle(server));
    expect(listener?.description).toBe(`TCP server listening on 127.0.0.1:${client.remotePort}`);
    // the zero-code way first, then the explicit ones
    expect(listener?.remedy).toMatch(/^start the app with `crac checkpoint -- <command>` or `node --require @crac\/core\/register`/);
    expect(listener?.remedy).toContain('use serverResource(server) from @crac/core, @crac/express or @crac/fastify');
    const accepted = findUnreleased().entries.find((e) =>
      e.description.includes(`127.0.0.1:${client.remotePort} -> 127.0.0.1:${client.localPort}`),
    );
    expect(accepted?.description).toContain('(accepted connection)');
  });

  it("points a database client's socket at the zero-code way first, then its adapter", async () => {
    // the machine's PostgreSQL: the port says which adapter would release the connection
    const { Socket } = await import('node:net');
    const client = new Socket();
    await new Promise<void>((resolve) => client.connect(5432, '127.0.0.1', resolve));
    cleanups.push(() => client.destroy());
    const [entry] = onlyFd(fdOfHandle(client));
    expect(entry?.remedy).toMatch(
      /^start the app with `crac checkpoint -- <command>` or `node --require @crac\/cli\/register` \(pg\.Pool instances/,
    );
    expect(entry?.remedy).toContain('unless CRAC_AUTO leaves pg out');
    expect(entry?.remedy).toContain('use @crac/pg');
  });

  it('names an open file and where fs.openSync opened it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crac-audit-'));
    const path = join(dir, 'data.txt');
    writeFileSync(path, 'x');
    const fd = openSync(path, 'r');
    cleanups.push(() => rmSync(dir, { recursive: true }));
    try {
      const [entry] = onlyFd(fd);
      expect(entry).toMatchObject({ kind: 'file', description: `file ${path} (read-only)`, closable: true });
      expect(entry?.createdAt?.location).toMatch(/audit\.test\.ts:\d+:\d+$/);
    } finally {
      closeSync(fd);
    }
    expect(onlyFd(fd)).toEqual([]);
  });

  it('lets a file that closes on its own (a loader still reading) close before deciding', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crac-audit-'));
    cleanups.push(() => rmSync(dir, { recursive: true }));
    const path = join(dir, 'module.js');
    writeFileSync(path, 'x');
    const passing = openSync(path, 'r');
    setTimeout(() => closeSync(passing), 30);
    const kept = openSync(path, 'r');
    try {
      const report = await auditHandles(resolvePolicy(undefined, {}), true);
      const refusedFds = report.refused.map((entry) => entry.fd);
      expect(refusedFds).not.toContain(passing);
      expect(refusedFds).toContain(kept);
    } finally {
      closeSync(kept);
    }
  });

  it.runIf(process.platform === 'linux')(
    "closes a raw descriptor with the 'close' policy by pointing it at /dev/null: its number is not reused",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'crac-audit-'));
      cleanups.push(() => rmSync(dir, { recursive: true }));
      const path = join(dir, 'held.txt');
      const fd = openSync(path, 'w');
      try {
        // the closer the 'close' policy uses, for this descriptor only (the test runner's files stay open)
        const { entries, closers } = findUnreleased();
        const entry = entries.find((candidate) => candidate.fd === fd);
        expect(entry?.closable).toBe(true);
        await closers.get(entry as (typeof entries)[number])?.();
        expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe('/dev/null');
        // the old owner writes into nothing, not into the next file opened
        const next = openSync(join(dir, 'next.txt'), 'w');
        expect(next).not.toBe(fd);
        closeSync(next);
        writeSync(fd, 'late write');
        expect(readFileSync(path, 'utf8')).toBe('');
      } finally {
        closeSync(fd);
      }
    },
  );

  it('reports an inotify instance only while it has watches', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crac-audit-'));
    cleanups.push(() => rmSync(dir, { recursive: true }));
    const watcher = watch(dir);
    const inotify = () => findUnreleased().entries.filter((entry) => entry.kind === 'inotify');
    expect(inotify()).toHaveLength(1);
    expect(inotify()[0]).toMatchObject({ closable: false, description: expect.stringContaining('1 watch') });
    watcher.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(inotify()).toEqual([]);
  });

  it('lists child processes (stdio ignored or piped), let through by default', async () => {
    const quiet = spawn('sleep', ['5'], { stdio: 'ignore' });
    cleanups.push(() => quiet.kill());
    const child = spawn('sleep', ['5']);
    cleanups.push(() => child.kill());
    await new Promise((resolve) => child.once('spawn', resolve));
    const entry = findUnreleased().entries.find((e) => e.pid === child.pid);
    expect(entry).toMatchObject({ kind: 'child-process', description: `child process ${child.pid}: sleep 5` });
    expect(entry?.createdAt?.location).toMatch(/audit\.test\.ts:\d+:\d+$/);
    const report = await auditHandles(resolvePolicy(undefined, {}), false);
    expect(report.ignored.map((e) => e.pid)).toEqual(expect.arrayContaining([child.pid, quiet.pid]));
    // its stdio sockets go with it
    expect(report.entries.filter((e) => e.kind === 'unix-socket' && !e.description.startsWith('IPC channel'))).toEqual([]);
  });

  it('closes what the close policy names, through the Node object', async () => {
    const { client, server } = await connection();
    const fds = [fdOfHandle(client), fdOfHandle(server)];
    const report = await auditHandles(resolvePolicy({ default: 'ignore', 'tcp-socket': 'close', 'tcp-listener': 'close' }, {}), true);
    expect(report.closed.map((e) => e.fd)).toEqual(expect.arrayContaining(fds));
    expect(client.destroyed).toBe(true);
    expect(server.listening).toBe(false);
    expect(report.refused).toEqual([]);
  });
});

describe('checkpointRestore() with the audit', () => {
  it('refuses with CRAC_EUNRELEASED and rolls back; the message says what and where', async () => {
    const { client } = await connection();
    const log: string[] = [];
    const context = new Context();
    context.register({ name: 'r', beforeCheckpoint: () => void log.push('before'), afterRestore: () => void log.push('after') });
    const error = await checkpointRestore({
      engine: 'simulate',
      context,
      audit: 'enforce',
      unreleased: { default: 'ignore', 'tcp-socket': 'refuse' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    const refusal = (error as CheckpointError).errors[0] as UnreleasedHandlesError;
    expect(refusal).toBeInstanceOf(UnreleasedHandlesError);
    expect(refusal.code).toBe(ErrorCode.UNRELEASED);
    expect(refusal.message).toMatch(
      new RegExp(
        `TCP socket 127\\.0\\.0\\.1:${client.localPort} -> 127\\.0\\.0\\.1:${client.remotePort} \\(established\\), opened at .*audit\\.test\\.ts:\\d+:\\d+: close it`,
      ),
    );
    expect(log).toEqual(['before', 'after']);
    expect(client.destroyed).toBe(false);
  });

  it('only reports with the simulate engine by default', async () => {
    await connection();
    const result = await checkpointRestore({ engine: 'simulate', context: new Context() });
    expect(result.audit?.enforced).toBe(false);
    expect(result.audit?.refused.some((e) => e.kind === 'tcp-socket')).toBe(true);
  });

  it('does not look with audit: off', async () => {
    const result = await checkpointRestore({ engine: 'simulate', context: new Context(), audit: 'off' });
    expect(result.audit).toBeUndefined();
  });
});
