// Who may have written an image that root restores (CRIU restores the uid and capabilities the
// image names): like sshd's StrictModes, and read through the directory's descriptor only.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, rmSync, symlinkSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, stopAll, tempDir } from './helpers/harness.js';
import { OTHER, type OtherUser, useOtherUser } from './helpers/other-user.js';

const APP = join(FIXTURES, 'lifecycle-app.cjs');
const cleanups: (() => void)[] = [];
const otherUser = useOtherUser();
let other: OtherUser;

beforeAll(() => {
  assertRealCriuHost();
  other = otherUser();
});
afterEach(() => stopAll());
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function dir(): string {
  const made = tempDir();
  cleanups.push(made.remove);
  return made.path;
}
async function cli(args: string[]) {
  const started = crac(args, { stdout: 'pipe' });
  const { code } = await started.exited;
  return { code, output: started.output(), events: started.events() };
}
/** A private copy of the image (cp -a keeps owners and modes), at `where` or in a fresh directory. */
function copyOf(image: string, where = join(dir(), 'copy')): string {
  execFileSync('cp', ['-a', image, where]);
  return where;
}
/** `crac restore` refused the image with this code before anything started, and at once. */
async function expectRefused(image: string, code: string, says: string | RegExp) {
  const started = performance.now();
  const restore = await cli(['restore', image]);
  expect(restore.code, restore.output).toBe(125);
  expect(restore.output).toContain(`[${code}]`);
  expect(restore.output).toMatch(says);
  expect(restore.output).not.toMatch(/crac: (verify|restore) /);
  expect(restore.events).toEqual([]);
  return { output: restore.output, ms: performance.now() - started };
}

describe('images another user owns or could have written: refused by root', () => {
  let image: string;
  beforeAll(async () => {
    image = join(dir(), 'image');
    const made = await cli(['checkpoint', '--to', image, '--warmup', 'true', '--', process.execPath, APP]);
    expect(made.code, made.output).toBe(0);
  });

  it('the image directory, a file, or the manifest owned by another user', async () => {
    const owner = `owner uid ${other.uid} (${OTHER})`;
    const dirOwned = copyOf(image);
    chownSync(dirOwned, other.uid, other.gid);
    const refused = await expectRefused(dirOwned, 'CRAC_EIMAGE', `${dirOwned} belongs to another user (${owner}, mode 700)`);
    expect(refused.output).toContain(`chown 0 ${dirOwned}`);

    const fileOwned = copyOf(image);
    chownSync(join(fileOwned, 'pages-1.img'), other.uid, other.gid);
    await expectRefused(fileOwned, 'CRAC_EIMAGE_CORRUPT', `pages-1.img belongs to another user (${owner}, mode 600)`);

    const manifestOwned = copyOf(image);
    chownSync(join(manifestOwned, 'crac-manifest.json'), other.uid, other.gid);
    await expectRefused(manifestOwned, 'CRAC_EIMAGE_CORRUPT', `crac-manifest.json belongs to another user (${owner}`);

    // crac inspect says the same
    const inspect = await cli(['inspect', fileOwned]);
    expect(inspect.code).toBe(1);
    expect(inspect.output).toMatch(/^verified\s+NO \[CRAC_EIMAGE_CORRUPT\] .*belongs to another user/m);
  });

  it('a parent directory another user owns, or can write', async () => {
    const parent = join(dir(), 'parent');
    mkdirSync(parent, { mode: 0o755 });
    const below = copyOf(image, join(parent, 'image'));
    chownSync(parent, other.uid, other.gid);
    await expectRefused(below, 'CRAC_EIMAGE', `${parent} (a parent directory of ${below}) belongs to another user (owner uid ${other.uid}`);

    // root's, but the other user's group can write it
    chownSync(parent, 0, other.gid);
    chmodSync(parent, 0o775);
    const writable = await expectRefused(below, 'CRAC_EIMAGE', `${parent} (a parent directory of ${below}) is writable by others`);
    expect(writable.output).toContain(`mode 775`);
    expect(writable.output).toContain(`chmod go-w ${parent}`);

    // world-writable and sticky (like /tmp): fine above an image directory of root's...
    chmodSync(parent, 0o1777);
    const restore = crac(['restore', below], { stdout: 'pipe' });
    expect((await restore.exited).code, restore.output()).toBe(0);
    expect(restore.events()).toContainEqual(expect.objectContaining({ event: 'summary', stateIntact: true }));
    // ...not above one of the other user's (who could rename it away and put another in its place)
    chownSync(below, other.uid, other.gid);
    await expectRefused(below, 'CRAC_EIMAGE', `${below} belongs to another user`);
  });

  it('the image directory writable by the group of another user', async () => {
    const shared = copyOf(image);
    chownSync(shared, 0, other.gid);
    chmodSync(shared, 0o770);
    await expectRefused(shared, 'CRAC_EIMAGE', `${shared} is writable by others (owner uid 0 (root), mode 770)`);
  });
});

describe('image files are read through the directory descriptor, as themselves', () => {
  let image: string;
  beforeAll(async () => {
    image = join(dir(), 'image');
    const made = await cli(['checkpoint', '--to', image, '--warmup', 'true', '--', process.execPath, APP]);
    expect(made.code, made.output).toBe(0);
  });

  it('a sealed file swapped for a symbolic link to an identical copy: refused', async () => {
    const copy = copyOf(image);
    const identical = join(copy, '..', 'pages-1.img');
    copyFileSync(join(copy, 'pages-1.img'), identical);
    chmodSync(identical, 0o600);
    rmSync(join(copy, 'pages-1.img'));
    symlinkSync(identical, join(copy, 'pages-1.img'));
    expect(execFileSync('cmp', [identical, join(image, 'pages-1.img')], { encoding: 'utf8' })).toBe('');
    await expectRefused(copy, 'CRAC_EIMAGE_CORRUPT', /pages-1\.img was replaced by a symbolic link/);
  });

  it('a manifest that is a FIFO: refused at once, by crac restore and crac inspect', async () => {
    const copy = copyOf(image);
    rmSync(join(copy, 'crac-manifest.json'));
    execFileSync('mkfifo', ['-m', '600', join(copy, 'crac-manifest.json')]);
    const { ms } = await expectRefused(copy, 'CRAC_EIMAGE', /crac-manifest\.json is a FIFO, not a manifest/);
    expect(ms).toBeLessThan(5_000);
    const inspect = await cli(['inspect', copy]);
    expect(inspect.code).toBe(1);
    expect(inspect.output).toContain('is a FIFO, not a manifest');
  });

  it('a 1 GB sparse manifest: refused at once, without being read', async () => {
    const copy = copyOf(image);
    truncateSync(join(copy, 'crac-manifest.json'), 1 << 30);
    const { ms } = await expectRefused(
      copy,
      'CRAC_EIMAGE',
      /crac-manifest\.json is 1073741824 bytes, more than a manifest can be \(1048576\)/,
    );
    expect(ms).toBeLessThan(5_000);
  });
});
