import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeAside, statAside } from './fs-aside.js';

// A pnpm-like tree: links/<name> -> ../real/<name>. Requiring one package through the links makes
// Node's realpath cache remember links/ as a plain directory, the state in which the stat buffer
// decides whether the next require follows the link.
let dir: string;
const servers: Server[] = [];
let packages = 0;
const plainStatBreaksRequire = Number(process.versions.node.split('.')[0]) <= 22;

/** Runs `call` between a stat of a directory and the require of a fresh package: true when that require found the package's real path. */
function requireFollowsLinksAfter(call: () => void): boolean {
  const name = `package-${++packages}`;
  mkdirSync(join(dir, 'real', name), { recursive: true });
  writeFileSync(join(dir, 'real', name, 'index.js'), 'module.exports = __filename;\n');
  symlinkSync(`../real/${name}`, join(dir, 'links', name));
  statSync(dir);
  call();
  return createRequire(join(dir, 'entry.js'))(`./links/${name}`) === join(dir, 'real', name, 'index.js');
}

/** A unix socket file with a server behind it. */
async function socketFile(name: string): Promise<string> {
  const path = join(dir, name);
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return path;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'crac-fs-aside-'));
  mkdirSync(join(dir, 'links'));
  expect(requireFollowsLinksAfter(() => {})).toBe(true);
});
afterAll(() => {
  for (const server of servers) server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('statAside', () => {
  it("stats a socket without changing where the next require() resolves (Node 20 and 22's statSync does)", async () => {
    const socket = await socketFile('stat.sock');
    // the control: this tree shows the bug where Node has it
    expect(requireFollowsLinksAfter(() => statSync(socket))).toBe(!plainStatBreaksRequire);
    expect(requireFollowsLinksAfter(() => expect(statAside(socket).isSocket()).toBe(true))).toBe(true);
  });

  it('stats a descriptor or a path', () => {
    const fd = openSync(join(dir, 'entry.js'), 'w');
    try {
      expect(statAside(fd).isFile()).toBe(true);
    } finally {
      closeSync(fd);
    }
    expect(statAside(dir).isDirectory()).toBe(true);
  });
});

describe('removeAside', () => {
  it("removes a socket file without changing where the next require() resolves (Node 20 and 22's rmSync does)", async () => {
    const first = await socketFile('rm.sock');
    expect(requireFollowsLinksAfter(() => rmSync(first, { force: true }))).toBe(!plainStatBreaksRequire);
    const second = await socketFile('remove.sock');
    expect(requireFollowsLinksAfter(() => removeAside(second))).toBe(true);
    expect(existsSync(second)).toBe(false);
  });

  it('is quiet about a file that is not there, and says why it cannot remove one', () => {
    expect(() => removeAside(join(dir, 'absent'))).not.toThrow();
    expect(() => removeAside(dir)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^E(ISDIR|PERM)$/) }));
  });
});
