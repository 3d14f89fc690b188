import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statAside } from './stat-aside.js';

// A pnpm-like tree: links/<name> -> ../real/<name>. Requiring one package through the links makes
// Node's realpath cache remember links/ as a plain directory, the state in which the stat buffer
// decides whether the next require follows the link.
let dir: string;
let server: Server;
let socketPath: string;
const requireFromTree = () => createRequire(join(dir, 'entry.js'));
const resolvedPath = (name: string) => requireFromTree()(`./links/${name}`) as string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crac-stat-aside-'));
  mkdirSync(join(dir, 'links'));
  for (const name of ['first', 'after-plain-stat', 'after-stat-aside']) {
    mkdirSync(join(dir, 'real', name), { recursive: true });
    writeFileSync(join(dir, 'real', name, 'index.js'), 'module.exports = __filename;\n');
    symlinkSync(`../real/${name}`, join(dir, 'links', name));
  }
  socketPath = join(dir, 'socket');
  server = createServer();
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  expect(resolvedPath('first')).toBe(join(dir, 'real', 'first', 'index.js'));
});
afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('statAside', () => {
  it("stats a socket without changing where the next require() resolves (Node 20 and 22's plain statSync does)", () => {
    const major = Number(process.versions.node.split('.')[0]);
    // The control: this tree does show the bug of Node 20 and 22's plain statSync.
    expect(statSync(socketPath).isSocket()).toBe(true);
    const afterPlain = resolvedPath('after-plain-stat');
    if (major <= 22) expect(afterPlain).toBe(join(dir, 'links', 'after-plain-stat', 'index.js'));
    else expect(afterPlain).toBe(join(dir, 'real', 'after-plain-stat', 'index.js'));

    statSync(dir); // leaves a directory's stat in the buffer again

    expect(statAside(socketPath).isSocket()).toBe(true);
    expect(resolvedPath('after-stat-aside')).toBe(join(dir, 'real', 'after-stat-aside', 'index.js'));
  });

  it('stats a descriptor or a path', () => {
    const fd = openSync(join(dir, 'real', 'first', 'index.js'), 'r');
    try {
      expect(statAside(fd).isFile()).toBe(true);
    } finally {
      closeSync(fd);
    }
    expect(statAside(dir).isDirectory()).toBe(true);
  });
});
