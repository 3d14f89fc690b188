// The native reader and writer of the image format (crac-restore --inspect, crac-seal, in
// native/src) against this TypeScript one: an image one seals, the other verifies, with the same
// refusals. What keeps the two implementations in step.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findNativeProgram, nativeBuildCommand } from '../protocol/programs.js';
import { MANIFEST_FILE } from './layout.js';
import { type Manifest, readManifest } from './manifest.js';
import { sealImage, verifySeal } from './seal.js';
import { writeTestImage } from './test-image.js';

let restorer: string;
let sealer: string;
beforeAll(() => {
  const restore = findNativeProgram('restore');
  const seal = findNativeProgram('seal');
  if (!restore || !seal) throw new Error(`crac-restore or crac-seal is not built: run \`${nativeBuildCommand()}\``);
  restorer = restore.path;
  sealer = seal.path;
});

let outside: string;
beforeEach(() => {
  outside = mkdtempSync(join(tmpdir(), 'crac-native-image-'));
});
afterEach(() => rmSync(outside, { recursive: true, force: true }));

/** A fresh unsealed test image in `outside/<name>` (0700). */
function unsealed(name: string): string {
  const dir = join(outside, name);
  execFileSync('mkdir', ['-m', '700', dir]);
  writeTestImage(dir);
  return dir;
}

type Inspection = {
  manifest?: Manifest;
  verification?: { ok: boolean; seal?: { files: number; hashed: number }; error?: { code: string; message: string } };
  ok?: false;
  error?: { code: string; message: string };
};

function inspect(dir: string): { code: number | null; report: Inspection } {
  const run = spawnSync(restorer, ['--inspect', dir], { encoding: 'utf8', timeout: 10_000 });
  return { code: run.status, report: JSON.parse(run.stdout) as Inspection };
}

/** crac-seal as CRIU runs it at post-dump: seals `staging` and puts it at `target`. */
function nativeSeal(staging: string, target: string): { code: number | null; stderr: string } {
  const run = spawnSync(sealer, [], {
    encoding: 'utf8',
    env: { CRTOOLS_SCRIPT_ACTION: 'post-dump', CRAC_SEAL_DIR: staging, CRAC_SEAL_STAGING: staging, CRAC_SEAL_TARGET: target },
  });
  return { code: run.status, stderr: run.stderr };
}

describe.runIf(process.platform === 'linux')('the native image reader and writer', () => {
  it('crac-seal writes the seal sealImage() writes, and puts the image in place, which verifySeal() accepts', async () => {
    const staging = unsealed('.image.crac-staging.1.0');
    const twin = join(outside, 'twin');
    cpSync(staging, twin, { recursive: true });
    writeFileSync(join(staging, 'crac-seal.conf'), 'action-script "/nowhere"\n', { mode: 0o600 });
    const before = readManifest(staging);
    const target = join(outside, 'image');
    expect(nativeSeal(staging, target)).toEqual({ code: 0, stderr: '' });
    const sealed = readManifest(target);
    const { seal, ...rest } = sealed;
    expect(rest).toEqual(before);
    expect(Object.keys(seal?.files ?? {})).toEqual(['pages-1.img', 'pstree.img']);
    await expect(verifySeal(target, sealed, { mode: 'quick' })).resolves.toMatchObject({ files: 2, hashed: 0 });
    await expect(verifySeal(target, sealed, { mode: 'full' })).resolves.toMatchObject({ files: 2, hashed: 2 });
    const reference = sealImage(twin);
    for (const [name, file] of Object.entries(reference.files)) expect(seal?.files[name]?.sha256, name).toBe(file.sha256);

    // a second checkpoint into the same directory: exchanged in one step, the previous image gone
    const next = unsealed('.image.crac-staging.2.0');
    writeFileSync(join(next, 'pages-1.img'), Buffer.alloc(1000, 9), { mode: 0o600 });
    expect(nativeSeal(next, target)).toEqual({ code: 0, stderr: '' });
    expect(readManifest(target).seal?.files['pages-1.img']?.size).toBe(1000);
    expect(() => readFileSync(join(next, MANIFEST_FILE))).toThrow();
  });

  it('crac-seal refuses to replace a directory holding other files, and does nothing but at post-dump', () => {
    const target = join(outside, 'image');
    execFileSync('mkdir', ['-m', '700', target]);
    writeFileSync(join(target, 'notes.txt'), 'mine');
    const staging = unsealed('.image.crac-staging.3.0');
    const refused = nativeSeal(staging, target);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('holds files that are not part of an image (notes.txt)');
    expect(readFileSync(join(target, 'notes.txt'), 'utf8')).toBe('mine');
    expect(spawnSync(sealer, [], { env: { CRTOOLS_SCRIPT_ACTION: 'pre-dump' } }).status).toBe(0);
  });

  it('crac-restore --inspect verifies an image sealImage() sealed, hashing every file', () => {
    const dir = unsealed('image');
    sealImage(dir);
    const { code, report } = inspect(dir);
    expect(code).toBe(0);
    expect(report.manifest).toEqual(readManifest(dir));
    expect(report.verification).toMatchObject({ ok: true, seal: { files: 2, hashed: 2 } });
  });

  it('crac-restore --inspect refuses what verifyImage() refuses, with the same codes and words', () => {
    const refusal = (prepare: (dir: string) => void) => {
      const dir = unsealed(`image-${Math.random().toString(16).slice(2)}`);
      sealImage(dir);
      prepare(dir);
      const { code, report } = inspect(dir);
      expect(code).toBe(1);
      return report.verification?.error ?? report.error;
    };
    expect(refusal((dir) => writeFileSync(join(dir, 'pages-1.img'), Buffer.alloc(100_000, 8)))).toMatchObject({
      code: 'CRAC_EIMAGE_CORRUPT',
      message: expect.stringContaining('pages-1.img changed since the checkpoint (its SHA-256 differs)'),
    });
    expect(refusal((dir) => truncateSync(join(dir, 'pages-1.img'), 10))).toMatchObject({
      code: 'CRAC_EIMAGE_CORRUPT',
      message: expect.stringContaining('is 10 bytes, 100000 when sealed: the image was truncated'),
    });
    expect(
      refusal((dir) => {
        copyFileSync(join(dir, 'pstree.img'), join(outside, 'tree'));
        rmSync(join(dir, 'pstree.img'));
        symlinkSync(join(outside, 'tree'), join(dir, 'pstree.img'));
      }),
    ).toMatchObject({ code: 'CRAC_EIMAGE_CORRUPT', message: expect.stringContaining('pstree.img was replaced by a symbolic link') });
    expect(refusal((dir) => writeFileSync(join(dir, 'extra.img'), 'x', { mode: 0o600 }))).toMatchObject({
      code: 'CRAC_EIMAGE_CORRUPT',
      message: expect.stringContaining('extra.img was added after the checkpoint'),
    });
    expect(refusal((dir) => writeFileSync(join(dir, MANIFEST_FILE), '{"format": 2, "pid": 1, ', { mode: 0o600 }))).toMatchObject({
      code: 'CRAC_EIMAGE',
      message: expect.stringContaining(`${MANIFEST_FILE} is damaged`),
    });
    expect(refusal((dir) => truncateSync(join(dir, MANIFEST_FILE), 2 << 20))).toMatchObject({
      code: 'CRAC_EIMAGE',
      message: expect.stringContaining('more than a manifest can be (1048576): refusing to read it'),
    });
    expect(
      refusal((dir) => {
        rmSync(join(dir, MANIFEST_FILE));
        execFileSync('mkfifo', ['-m', '600', join(dir, MANIFEST_FILE)]);
      }),
    ).toMatchObject({ code: 'CRAC_EIMAGE', message: expect.stringContaining('is a FIFO, not a manifest') });
    expect(refusal((dir) => execFileSync('chmod', ['g+w', join(dir, 'pstree.img')]))).toMatchObject({
      code: 'CRAC_EIMAGE_CORRUPT',
      message: expect.stringContaining('pstree.img can be written by others'),
    });
  });
});

/**
 * A stand-in for CRIU's command line only (`--version`, `restore ... -W DIR --pidfile FILE`):
 * the restore it fakes starts `app` detached, writes its pid where CRIU would, and exits as
 * `criu restore -d` does; or fails with an error line in its log. What crac-restore does around
 * CRIU (the supervisor, its notice, exit codes, CRIU's log on failure) without a real restore:
 * the real ones are in test/*.e2e.test.ts.
 */
function fakeCriu(app: string | undefined): string {
  const path = join(outside, app ? 'criu' : 'failing-criu');
  const restore = app
    ? `pidfile=; while [ $# -gt 0 ]; do [ "$1" = --pidfile ] && pidfile=$2; shift; done\n${app} </dev/null >/dev/null 2>&1 &\necho $! > "$pidfile"\n`
    : `work=; while [ $# -gt 0 ]; do [ "$1" = -W ] && work=$2; shift; done\nprintf '(00.002) Error (criu/cr-restore.c:1): Can'"'"'t fork for 1: File exists\\n' > "$work/restore.log"\nexit 1\n`;
  writeFileSync(path, `#!/bin/sh\n[ "$1" = --version ] && { echo "Version: 4.2.1"; exit 0; }\n${restore}`, { mode: 0o755 });
  return path;
}

// root: a non-root crac-restore checks CRIU's file capabilities first, which a stand-in lacks
describe.runIf(process.platform === 'linux' && process.getuid?.() === 0)('crac-restore around CRIU (as root)', () => {
  /** A sealed test image with what CRIU needs to start (restore.c refuses one without). */
  function restorable(): string {
    const dir = unsealed('image');
    writeFileSync(join(dir, 'inventory.img'), 'inventory', { mode: 0o600 });
    sealImage(dir);
    return dir;
  }

  function restore(criu: string, args: string[] = []) {
    const dir = restorable();
    return spawnSync(restorer, ['--pid-namespace', 'never', ...args, dir], {
      encoding: 'utf8',
      env: { ...process.env, CRAC_CRIU_PATH: criu },
      timeout: 20_000,
    });
  }

  it("reports the restore, then exits with the app's exit code", () => {
    const run = restore(fakeCriu('sh -c "exit 7"'), ['--json']);
    expect(run.status, run.stderr).toBe(7);
    expect(JSON.parse(run.stdout)).toMatchObject({
      ok: true,
      pid: 1,
      pidNamespace: false,
      phases: [
        { phase: 'verify', detail: '3 files as sealed, 0 hashed (0 KiB)' },
        { phase: 'restore', detail: 'pid 1' },
      ],
    });
  });

  it("fails with 125, CRIU's error lines and the fix when CRIU fails", () => {
    const run = restore(fakeCriu(undefined));
    expect(run.status).toBe(125);
    expect(run.stderr).toContain('[CRAC_ECRIU_RESTORE] cannot restore');
    expect(run.stderr).toContain("Error (criu/cr-restore.c:1): Can't fork for 1: File exists");
    expect(run.stderr).toContain('fix: a pid of the image is taken on this host');
    expect(run.stderr).not.toMatch(/crac: restore /);
  });

  it('passes a SIGTERM on to the app and exits as the app did', { timeout: 20_000 }, async () => {
    const dir = restorable();
    const { spawn } = await import('node:child_process');
    const child = spawn(restorer, ['--pid-namespace', 'never', dir], {
      env: { ...process.env, CRAC_CRIU_PATH: fakeCriu('sleep 30') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    let ended = false;
    exited.then(() => {
      ended = true;
    });
    while (!stderr.includes('crac: restore') && !ended) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGTERM');
    const [code, signal] = await exited;
    expect({ code, signal }, stderr).toEqual({ code: 143, signal: null });
  });
});
