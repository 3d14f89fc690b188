import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
  closeSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '@crac/core/image';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, NODES, run, stopAll, tempDir } from './helpers/harness.js';

const APP = join(FIXTURES, 'lifecycle-app.cjs');
const cleanups: (() => void)[] = [];
beforeAll(() => assertRealCriuHost());
afterEach(() => stopAll());
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});
function dir(): string {
  const made = tempDir();
  cleanups.push(made.remove);
  return made.path;
}
async function cli(args: string[], options: Parameters<typeof crac>[1] = {}) {
  const started = crac(args, { stdout: 'pipe', ...options });
  const { code } = await started.exited;
  return { code, output: started.output(), events: started.events() };
}
async function checkpoint(node: string, image: string) {
  const made = await cli(['checkpoint', '--to', image, '--warmup', 'true', '--', node, APP]);
  expect(made.code, made.output).toBe(0);
}
/** A copy of an image, as private as the original (cp -a keeps modes). */
function copyOf(image: string): string {
  const copy = join(dir(), 'copy');
  execFileSync('cp', ['-a', image, copy]);
  return copy;
}
function flipByte(path: string, position: number): void {
  const fd = openSync(path, 'r+');
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, position);
  byte[0] = (byte[0] as number) ^ 0xff;
  writeSync(fd, byte, 0, 1, position);
  closeSync(fd);
}
/** `crac restore` refused the image with this code before anything started. */
async function expectRefused(image: string, code: string, says: string | RegExp) {
  const restore = await cli(['restore', image]);
  expect(restore.code, restore.output).toBe(125);
  expect(restore.output).toContain(`[${code}]`);
  expect(restore.output).toMatch(says);
  // nothing started: no restore phase, not a line from the app
  expect(restore.output).not.toMatch(/crac: restore /);
  expect(restore.events).toEqual([]);
  return restore.output;
}

describe.each(NODES)('images made on $name', ({ bin: node }) => {
  let image: string;
  beforeAll(async () => {
    image = join(dir(), 'image');
    await checkpoint(node, image);
  });

  it('are private, sealed, and crac inspect says so', async () => {
    expect(statSync(image).mode & 0o777).toBe(0o700);
    const inspect = await cli(['inspect', image, '--json']);
    expect(inspect.code, inspect.output).toBe(0);
    const [{ manifest, verification }] = inspect.events as [{ manifest: Required<Manifest>; verification: { ok: boolean } }];
    expect(verification).toMatchObject({ ok: true });
    expect(manifest.format).toBe(3);
    expect(manifest.host.cpuFlags.length).toBeGreaterThan(0);
    expect(manifest.binaries).toContainEqual(expect.objectContaining({ role: 'node', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }));
    expect(manifest.binaries).toContainEqual(expect.objectContaining({ role: 'addon', path: expect.stringContaining('crac.node') }));
    expect(Object.keys(manifest.seal.files)).toEqual(expect.arrayContaining(['pages-1.img', 'pstree.img', 'inventory.img']));
    for (const name of Object.keys(manifest.seal.files)) expect(statSync(join(image, name)).mode & 0o777, name).toBe(0o600);
    // the seal is what sha256sum says
    const sum = execFileSync('sha256sum', [join(image, 'pages-1.img')], { encoding: 'utf8' }).split(' ')[0];
    expect(manifest.seal.files['pages-1.img']?.sha256).toBe(sum);

    const text = await cli(['inspect', image]);
    expect(text.output).toMatch(/^verified\s+yes, on this host/m);
    expect(text.output).toMatch(/^seal\s+sha256, \d+ files/m);
  });

  it('a byte flipped in pages-1.img: refused as corrupt, crac inspect exits 1', async () => {
    const copy = copyOf(image);
    flipByte(join(copy, 'pages-1.img'), Math.floor(statSync(join(copy, 'pages-1.img')).size / 2));
    const output = await expectRefused(copy, 'CRAC_EIMAGE_CORRUPT', /pages-1\.img changed since the checkpoint/);
    // the page file fails the gate CRIU runs before it resumes the app: the reason alone, not CRIU's failure first
    expect(output).not.toMatch(/criu restore failed/);
    const inspect = await cli(['inspect', copy]);
    expect(inspect.code).toBe(1);
    expect(inspect.output).toMatch(/^verified\s+NO \[CRAC_EIMAGE_CORRUPT\]/m);
  });

  it('a truncated file: refused', async () => {
    const copy = copyOf(image);
    const pages = join(copy, 'pages-1.img');
    truncateSync(pages, statSync(pages).size - 4096);
    await expectRefused(copy, 'CRAC_EIMAGE_CORRUPT', /pages-1\.img is \d+ bytes, \d+ when sealed: the image was truncated/);
  });

  it('a file replaced, a file added, a file missing: refused', async () => {
    const replaced = copyOf(image);
    const files = join(replaced, 'files.img');
    const size = statSync(files).size;
    rmSync(files);
    writeFileSync(files, Buffer.alloc(size, 1), { mode: 0o600 });
    await expectRefused(replaced, 'CRAC_EIMAGE_CORRUPT', /files\.img changed since the checkpoint/);

    const added = copyOf(image);
    writeFileSync(join(added, 'extra.img'), 'not from CRIU', { mode: 0o600 });
    await expectRefused(added, 'CRAC_EIMAGE_CORRUPT', /extra\.img was added after the checkpoint/);

    const missing = copyOf(image);
    rmSync(join(missing, 'pages-1.img'));
    await expectRefused(missing, 'CRAC_EIMAGE_CORRUPT', /pages-1\.img is missing/);

    const unsafe = copyOf(image);
    execFileSync('chmod', ['666', join(unsafe, 'pages-1.img')]);
    await expectRefused(unsafe, 'CRAC_EIMAGE_CORRUPT', /pages-1\.img can be written by others/);
  });

  it('an unsealed image (its seal removed from the manifest): refused', async () => {
    const copy = copyOf(image);
    const path = join(copy, 'crac-manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    delete manifest.seal;
    writeFileSync(path, JSON.stringify(manifest));
    await expectRefused(copy, 'CRAC_EIMAGE_CORRUPT', /is not sealed/);
  });

  it('an intact image still restores, hashing nothing when untouched since the seal', async () => {
    const inPlace = crac(['restore', image], { stdout: 'pipe' });
    expect((await inPlace.exited).code, inPlace.output()).toBe(0);
    expect(inPlace.output()).toMatch(/crac: verify\s+[\d.]+ ms\s+\d+ files as sealed, 0 hashed/);
  });

  it('an intact image still restores after being moved', async () => {
    const restore = crac(['restore', copyOf(image)], { stdout: 'pipe' });
    const { code } = await restore.exited;
    expect(code, restore.output()).toBe(0);
    // a moved copy: every file is hashed once (new inodes), the page files while CRIU restores
    const verify =
      /crac: verify\s+[\d.]+ ms\s+(\d+) files as sealed, (\d+) hashed \([^)]*\), (\d+) page files? \([^)]*\) while CRIU restores/.exec(
        restore.output(),
      );
    expect(verify, restore.output()).not.toBeNull();
    const [files, hashed, pages] = (verify as RegExpExecArray).slice(1, 4).map(Number) as [number, number, number];
    expect(hashed + pages).toBe(files);
    expect(pages).toBeGreaterThan(0);
    // how long that took beside CRIU (longer than CRIU's own time: the app waited for it)
    expect(restore.output()).toMatch(/crac: restore\s+[\d.]+ ms\s+pid \d+.*, page files hashed alongside in [\d.]+ ms$/m);
    expect(restore.events()).toContainEqual(expect.objectContaining({ event: 'summary', stateIntact: true, childExit: 7 }));
  });
});

describe('a foreign image: made with another build of node at the same path', () => {
  it('is refused, saying which file differs; the same bytes back restore again', async () => {
    const bin = join(dir(), 'node');
    copyFileSync(process.execPath, bin);
    const image = join(dir(), 'image');
    await checkpoint(bin, image);

    const original = readFileSync(bin).subarray(-1);
    appendFileSync(bin, Buffer.from([0])); // another size
    const grown = await expectRefused(image, 'CRAC_EIMAGE_FOREIGN', /was made on another host or build/);
    expect(grown).toContain(`${bin} (node) is not the file the image was made with`);
    expect(grown).toContain('fix: restore where the same build');

    truncateSync(bin, statSync(bin).size - 1);
    flipByte(bin, statSync(bin).size - 1); // same size, other content: found by its SHA-256
    expect(readFileSync(bin).subarray(-1)).not.toEqual(original);
    await expectRefused(image, 'CRAC_EIMAGE_FOREIGN', /\(node\) is not the file the image was made with/);

    flipByte(bin, statSync(bin).size - 1); // the original bytes (new mtime and ctime): accepted
    const restore = crac(['restore', image], { stdout: 'pipe' });
    expect((await restore.exited).code, restore.output()).toBe(0);
  });
});

describe('images made without the CLI', () => {
  it('are sealed too: an API checkpoint that ends the process, and a leave-running one', async () => {
    for (const leaveRunning of ['0', '1']) {
      const image = join(dir(), 'image');
      const app = await run(process.execPath, [APP], {
        env: { FIXTURE_TRIGGER: 'api', CRAC_ENGINE: 'criu', CRAC_IMAGES_DIR: image, FIXTURE_LEAVE_RUNNING: leaveRunning },
      });
      if (leaveRunning === '1')
        expect(app.events).toContainEqual(expect.objectContaining({ event: 'checkpoint-result', outcome: 'checkpointed' }));
      else expect(app.signal ?? app.code).toBeTruthy(); // ended by CRIU with the dump
      const inspect = await cli(['inspect', image, '--json']);
      expect(inspect.code, inspect.output).toBe(0);
      expect(inspect.events[0]).toMatchObject({ verification: { ok: true }, manifest: { seal: { algorithm: 'sha256' } } });
      expect(readFileSync(join(image, 'dump.log'), 'utf8')).toContain('Running post-dump scripts');
      for (const hook of ['crac-seal.conf', 'crac-seal.sh']) expect(() => statSync(join(image, hook))).toThrow();
    }
  });

  it('a missing image: refused with CRAC_EIMAGE', async () => {
    await expectRefused(join(dir(), 'no-image'), 'CRAC_EIMAGE', /is not a crac image/);
    const inspect = await cli(['inspect', join(dir(), 'no-image')]);
    expect(inspect.code).toBe(1);
    expect(inspect.output).toContain('[CRAC_EIMAGE]');
  });
});
