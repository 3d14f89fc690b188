import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageCorruptError } from './errors.js';
import { readManifest } from './manifest.js';
import { SEAL_CONFIG_FILE } from './layout.js';
import { writeTestImage } from './test-image.js';
import { sealImage, verifySeal } from './seal.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crac-seal-'));
  writeTestImage(dir);
  writeFileSync(join(dir, 'dump.log'), 'log', { mode: 0o600 });
  writeFileSync(join(dir, SEAL_CONFIG_FILE), 'action-script "/x"', { mode: 0o600 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(): Promise<ImageCorruptError> {
  const error = await verifySeal(dir, readManifest(dir)).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ImageCorruptError);
  return error as ImageCorruptError;
}

describe('sealImage / verifySeal', () => {
  it("records every file but the manifest, the logs and the statistics, and removes the hook's configuration", async () => {
    const seal = sealImage(dir);
    expect(Object.keys(seal.files)).toEqual(['pages-1.img', 'pstree.img']);
    expect(existsSync(join(dir, SEAL_CONFIG_FILE))).toBe(false);
    // what `printf tree | sha256sum` prints
    expect(seal.files['pstree.img']).toMatchObject({ size: 4, sha256: createHash('sha256').update('tree').digest('hex') });
    expect(readManifest(dir).seal).toEqual(seal);
    writeFileSync(join(dir, 'stats-restore'), 'written by each restore');
    // untouched since the seal: nothing to hash, unless asked
    await expect(verifySeal(dir, readManifest(dir))).resolves.toEqual({ files: 2, hashed: 0, bytesHashed: 0 });
    await expect(verifySeal(dir, readManifest(dir), { mode: 'full' })).resolves.toEqual({ files: 2, hashed: 2, bytesHashed: 100_004 });
  });

  it('refuses an unsealed image', async () => {
    expect(await refusal()).toMatchObject({ code: 'CRAC_EIMAGE_CORRUPT', reason: 'unsealed' });
  });

  it('refuses a modified, truncated, missing, added or unsafe file, naming it', async () => {
    sealImage(dir);
    writeFileSync(join(dir, 'pstree.img'), 'TREE');
    expect(await refusal()).toMatchObject({ reason: 'modified', file: 'pstree.img' });
    writeFileSync(join(dir, 'pstree.img'), 'tree');

    truncateSync(join(dir, 'pages-1.img'), 10);
    expect(await refusal()).toMatchObject({ reason: 'truncated', file: 'pages-1.img' });
    rmSync(join(dir, 'pages-1.img'));
    expect(await refusal()).toMatchObject({ reason: 'missing', file: 'pages-1.img' });
    writeFileSync(join(dir, 'pages-1.img'), Buffer.alloc(100_000, 7), { mode: 0o600 });
    // rewritten with the same bytes: hashed again, and accepted
    await expect(verifySeal(dir, readManifest(dir))).resolves.toMatchObject({ hashed: 2 });

    writeFileSync(join(dir, 'core-2.img'), 'extra');
    expect(await refusal()).toMatchObject({ reason: 'unexpected', file: 'core-2.img' });
    rmSync(join(dir, 'core-2.img'));

    chmodSync(join(dir, 'pstree.img'), 0o666);
    expect(await refusal()).toMatchObject({ reason: 'unsafe', file: 'pstree.img' });
  });
});
