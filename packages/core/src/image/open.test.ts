import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, symlinkSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageCorruptError } from './errors.js';
import { MANIFEST_FILE } from './layout.js';
import { type ImageSeal, MAX_MANIFEST_BYTES, readManifest, type SealedFile, writeManifest } from './manifest.js';
import { openImage } from './open.js';
import { writeTestImage } from './test-image.js';
import { sealImage } from './seal.js';
import { verifyImage, verifyOpenImage } from './verify.js';

let dir: string;
let outside: string;
beforeEach(() => {
  outside = mkdtempSync(join(tmpdir(), 'crac-open-'));
  dir = join(outside, 'image');
  execFileSync('mkdir', ['-m', '700', dir]);
  writeTestImage(dir);
  sealImage(dir);
});
afterEach(() => rmSync(outside, { recursive: true, force: true }));

function refusal(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('not refused');
}

describe.runIf(process.platform === 'linux')('openImage', () => {
  it('opens the directory once, reads the manifest through it, and verifies through the same descriptor', async () => {
    const image = openImage(dir);
    try {
      expect(image.manifest.seal?.files).toHaveProperty(['pages-1.img']);
      await expect(verifyOpenImage(image, { mode: 'full' })).resolves.toMatchObject({ seal: { files: 2, hashed: 2 } });
    } finally {
      image.close();
    }
    await expect(verifyImage(dir, readManifest(dir))).resolves.toMatchObject({ seal: { files: 2, hashed: 0 } });
  });

  it('refuses a manifest that is a FIFO at once, without blocking', () => {
    rmSync(join(dir, MANIFEST_FILE));
    execFileSync('mkfifo', ['-m', '600', join(dir, MANIFEST_FILE)]);
    const started = performance.now();
    expect(refusal(() => openImage(dir))).toMatchObject({
      code: 'CRAC_EIMAGE',
      message: expect.stringContaining('is a FIFO, not a manifest'),
    });
    expect(refusal(() => readManifest(dir))).toMatchObject({ code: 'CRAC_EIMAGE' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('refuses a manifest bigger than 1 MiB unread (a sparse 1 GB file)', () => {
    truncateSync(join(dir, MANIFEST_FILE), 1 << 30);
    const started = performance.now();
    expect(refusal(() => openImage(dir))).toMatchObject({
      code: 'CRAC_EIMAGE',
      message: expect.stringContaining(`is 1073741824 bytes, more than a manifest can be (${MAX_MANIFEST_BYTES})`),
    });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('refuses a manifest that is a symbolic link, or that others can write', () => {
    const copy = join(outside, 'manifest-copy.json');
    copyFileSync(join(dir, MANIFEST_FILE), copy);
    rmSync(join(dir, MANIFEST_FILE));
    symlinkSync(copy, join(dir, MANIFEST_FILE));
    expect(refusal(() => openImage(dir))).toMatchObject({ code: 'CRAC_EIMAGE', message: expect.stringContaining('is a symbolic link') });
    rmSync(join(dir, MANIFEST_FILE));
    copyFileSync(copy, join(dir, MANIFEST_FILE));
    chmodSync(join(dir, MANIFEST_FILE), 0o666);
    expect(refusal(() => openImage(dir))).toMatchObject({ code: 'CRAC_EIMAGE_CORRUPT', reason: 'unsafe', file: MANIFEST_FILE });
  });

  it('refuses a sealed file swapped for a symbolic link to an identical copy', async () => {
    const copy = join(outside, 'pages-copy.img');
    copyFileSync(join(dir, 'pages-1.img'), copy);
    rmSync(join(dir, 'pages-1.img'));
    symlinkSync(copy, join(dir, 'pages-1.img'));
    const image = openImage(dir);
    try {
      const error = await verifyOpenImage(image).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ImageCorruptError);
      expect(error).toMatchObject({
        reason: 'modified',
        file: 'pages-1.img',
        message: expect.stringContaining('replaced by a symbolic link'),
      });
    } finally {
      image.close();
    }
  });

  it('refuses a seal that names a file outside the directory', async () => {
    const manifest = readManifest(dir);
    const seal = manifest.seal as ImageSeal;
    writeManifest(dir, { ...manifest, seal: { ...seal, files: { '../outside.img': seal.files['pstree.img'] as SealedFile } } });
    rmSync(join(dir, 'pages-1.img'));
    rmSync(join(dir, 'pstree.img'));
    const error = await verifyImage(dir, readManifest(dir)).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CRAC_EIMAGE_CORRUPT', reason: 'modified', file: '../outside.img' });
  });
});
