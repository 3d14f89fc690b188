import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { controlDir } from './control-socket.js';
import { sweepControlDir } from './control-sweep.js';

const ownNamespace = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] as string;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function runtimeDir() {
  const dir = mkdtempSync(join(tmpdir(), 'crac-sweep-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const env = { CRAC_RUNTIME_DIR: dir };
  mkdirSync(controlDir(env), { mode: 0o700 });
  return { env, control: controlDir(env) };
}

/**
 * A socket file no process holds any more: bound by a child at `template` (its `{pid}` the
 * child's pid), then SIGKILLed, which removes nothing.
 */
async function abandonedSocket(template: string): Promise<{ pid: number; file: string }> {
  const listen =
    "const net=require('node:net');const path=process.argv[1].replace('{pid}',process.pid);net.createServer().listen(path,()=>console.log('up'))";
  const child = spawn(process.execPath, ['-e', listen, template], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout?.once('data', resolve));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return { pid: child.pid as number, file: template.replace('{pid}', String(child.pid)) };
}

async function listening(path: string): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  cleanups.push(() => server.close());
  return server;
}

describe('sweepControlDir', () => {
  it("removes the sockets and hold markers of this namespace's ended processes, keeps the live ones and anything else", async () => {
    const { env, control } = runtimeDir();
    const dead = await abandonedSocket(join(control, `${ownNamespace}-{pid}.sock`));
    const deadMarker = join(control, `${ownNamespace}-${dead.pid}.held`);
    writeFileSync(deadMarker, 'id');
    const live = join(control, `${ownNamespace}-${process.pid}.sock`);
    await listening(live);
    const liveMarker = join(control, `${ownNamespace}-${process.pid}.held`);
    writeFileSync(liveMarker, 'id');
    const other = join(control, 'notes.txt');
    writeFileSync(other, '');

    const removed = await sweepControlDir(env);
    expect(removed.sort()).toEqual([`${ownNamespace}-${dead.pid}.held`, `${ownNamespace}-${dead.pid}.sock`]);
    expect([existsSync(dead.file), existsSync(deadMarker)]).toEqual([false, false]);
    expect([existsSync(live), existsSync(liveMarker), existsSync(other)]).toEqual([true, true, true]);
  });

  it("removes another namespace's socket only once nothing is bound to it and it is old enough to have listened", async () => {
    const { env, control } = runtimeDir();
    const abandoned = await abandonedSocket(join(control, '4026599999-7.sock'));
    const live = join(control, '4026599999-8.sock');
    await listening(live);
    const past = new Date(Date.now() - 60_000);
    for (const path of [abandoned.file, live]) utimesSync(path, past, past);
    const young = await abandonedSocket(join(control, '4026599999-9.sock'));

    expect(await sweepControlDir(env)).toEqual(['4026599999-7.sock']);
    expect([existsSync(abandoned.file), existsSync(live), existsSync(young.file)]).toEqual([false, true, true]);
    // once old enough, the young abandoned one goes too
    expect(await sweepControlDir(env, { minAgeMs: 0 })).toEqual(['4026599999-9.sock']);
  });
});
