// The native reader and writer of the image format (crac-seal seals, crac-restore --inspect
// verifies, both in native/src: the one implementation of the seal, the verification and the
// manifest reader, which readManifest() reaches through crac.node).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findNativeProgram, nativeBuildCommand } from '../protocol/programs.js';
import { MANIFEST_FILE } from './layout.js';
import { describeBinaries } from './binaries.js';
import type { DigestCacheLocation } from './digest-cache.js';
import { describeHost as describeHostHere } from './host.js';
import { inspectImage, verifyImage } from './inspect.js';
import { type ImageSeal, type ListenerRecord, type Manifest, readManifest, type SealedFile, writeManifest } from './manifest.js';
import { writeTestImage } from './test-image.js';

/** Root's caches beside CRIU's kernel probe (CRAC_KDAT_DIR of native/src/lib/criu/kdat_dir.h). */
const KDAT_DIR = '/dev/shm/crac-criu';

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

/**
 * `path` replaced by a new file (another inode, as in a pulled image): hashed, not taken as the
 * same file; its identity as the digest cache keeps it.
 */
function replaceFile(path: string, content: string) {
  writeFileSync(`${path}.new`, content);
  renameSync(`${path}.new`, path);
  const st = statSync(path);
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

/** The checkpoint side's digest cache, in the test's directory. */
let location: DigestCacheLocation;
beforeEach(() => {
  const file = join(outside, 'cache', 'digests.json');
  location = { read: [file], write: file, rootOnly: false };
});

/** A fresh unsealed test image in `outside/<name>` (0700); with `listeners`, of format 3. */
function unsealed(name: string, listeners?: Omit<ListenerRecord, 'slot'>[]): string {
  const dir = join(outside, name);
  execFileSync('mkdir', ['-m', '700', dir]);
  writeTestImage(dir, listeners);
  return dir;
}

let stagings = 0;
/**
 * A test image sealed by crac-seal as CRIU runs it (`outside/.<name>.crac-staging.N.0` sealed
 * and put in place at `outside/<name>`); `prepare` changes the staging image first.
 */
function sealed(
  name: string,
  { listeners, prepare }: { listeners?: Omit<ListenerRecord, 'slot'>[]; prepare?: (staging: string) => void } = {},
): string {
  const staging = unsealed(`.${name}.crac-staging.${++stagings}.0`, listeners);
  prepare?.(staging);
  const target = join(outside, name);
  expect(nativeSeal(staging, target), 'crac-seal').toEqual({ code: 0, stderr: '' });
  return target;
}

/** Changes the manifest of an image (before its seal: crac-seal keeps what it finds). */
function editManifest(dir: string, edit: (manifest: Manifest) => Manifest): void {
  writeManifest(dir, edit(readManifest(dir)));
}

/** Two listeners: one that follows PORT (3000 at the checkpoint), one on a fixed port of every address. */
const LISTENERS: Omit<ListenerRecord, 'slot'>[] = [
  { host: '127.0.0.1', port: 3000, portEnv: 'PORT', portEnvValue: '3000' },
  { host: '::', port: 8443 },
];

type Inspection = {
  manifest?: Manifest;
  verification?: { ok: boolean; seal?: { files: number; hashed: number }; error?: { code: string; message: string } };
  ok?: false;
  error?: { code: string; message: string };
};

function inspect(dir: string, env: NodeJS.ProcessEnv = process.env): { code: number | null; report: Inspection } {
  const run = spawnSync(restorer, ['--inspect', dir], { encoding: 'utf8', timeout: 10_000, env });
  return { code: run.status, report: JSON.parse(run.stdout) as Inspection };
}

/** Why crac-restore --inspect refuses `dir` (it exits 1). */
function refusalOf(dir: string): { code: string; message: string } | undefined {
  const { code, report } = inspect(dir);
  expect(code).toBe(1);
  return report.verification?.error ?? report.error;
}

/** Why crac-restore --inspect refuses a sealed test image once `prepare` changed it. */
function refusal(prepare: (dir: string) => void): { code: string; message: string } | undefined {
  const dir = sealed(`image-${Math.random().toString(16).slice(2)}`);
  prepare(dir);
  return refusalOf(dir);
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
  it('crac-seal records each file with its SHA-256, leaves the rest of the manifest as it was, and puts the image in place', () => {
    const staging = unsealed('.image.crac-staging.1.0');
    writeFileSync(join(staging, 'crac-seal.conf'), 'action-script "/nowhere"\n', { mode: 0o600 });
    writeFileSync(join(staging, 'dump.log'), 'log', { mode: 0o600 });
    const before = readManifest(staging);
    const target = join(outside, 'image');
    expect(nativeSeal(staging, target)).toEqual({ code: 0, stderr: '' });
    const sealed = readManifest(target);
    const { seal, ...rest } = sealed;
    expect(rest).toEqual(before);
    // every file but the manifest, the logs and the hook's configuration (removed)
    expect(Object.keys(seal?.files ?? {})).toEqual(['pages-1.img', 'pstree.img']);
    expect(() => readFileSync(join(target, 'crac-seal.conf'))).toThrow();
    // what `printf tree | sha256sum` prints
    expect(seal?.files['pstree.img']).toMatchObject({ size: 4, sha256: createHash('sha256').update('tree').digest('hex') });
    expect(seal?.files['pages-1.img']?.sha256).toBe(createHash('sha256').update(Buffer.alloc(100_000, 7)).digest('hex'));
    const { code, report } = inspect(target);
    expect(code).toBe(0);
    expect(report.verification).toMatchObject({ ok: true, seal: { files: 2, hashed: 2 } });

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

  it('a format 3 image (listeners): crac-seal seals the slot files and replaces an image holding them; readManifest() and --inspect read the same listeners', async () => {
    const target = join(outside, 'image');
    for (const round of [1, 2]) {
      const staging = unsealed(`.image.crac-staging.${round}.0`, LISTENERS);
      expect(nativeSeal(staging, target)).toEqual({ code: 0, stderr: '' });
    }
    const sealed = readManifest(target);
    expect(sealed.format).toBe(3);
    expect(Object.keys(sealed.seal?.files ?? {})).toEqual(['crac-handoff', 'crac-listen-0', 'crac-listen-1', 'pages-1.img', 'pstree.img']);
    expect(sealed.listeners).toEqual([
      { ...LISTENERS[0], slot: join(outside, '.image.crac-staging.2.0', 'crac-listen-0') },
      { ...LISTENERS[1], slot: join(outside, '.image.crac-staging.2.0', 'crac-listen-1') },
    ]);
    const { code, report } = inspect(target);
    expect(code).toBe(0);
    expect(report.manifest).toEqual(sealed);
    expect(report.verification).toMatchObject({ ok: true, seal: { files: 5, hashed: 5 } });
  });

  it('the manifest reader refuses bad formats and listeners in its words, through readManifest() and --inspect alike', () => {
    /** The reason readManifest() (crac.node) and crac-restore --inspect give for the manifest `edit` makes of a format 3 one (undefined: read). */
    const reasons = (edit: (manifest: Record<string, unknown>) => void) => {
      const dir = unsealed(`image-${Math.random().toString(16).slice(2)}`, LISTENERS);
      const manifest = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as Record<string, unknown>;
      edit(manifest);
      writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2), { mode: 0o600 });
      let ts: string | undefined;
      try {
        readManifest(dir);
      } catch (error) {
        ts = (error as Error).message.split(' is damaged: ')[1];
      }
      const { report } = inspect(dir);
      const native = report.error?.message.split(' is damaged: ')[1];
      return { ts, native };
    };
    const listener = (change: Record<string, unknown>) => (m: Record<string, unknown>) => {
      m.listeners = [{ ...(m.listeners as object[])[0], ...change }];
    };
    const refusals: [string, (m: Record<string, unknown>) => void, string | undefined][] = [
      ['as written', () => {}, undefined],
      ['format 2 with listeners', (m) => Object.assign(m, { format: 2 }), undefined],
      ['no listeners', (m) => Object.assign(m, { listeners: undefined }), undefined],
      ['format 4', (m) => Object.assign(m, { format: 4 }), 'unknown format'],
      ['format 0', (m) => Object.assign(m, { format: 0 }), 'unknown format'],
      ['listeners an object', (m) => Object.assign(m, { listeners: {} }), 'listeners is not an array'],
      ['no host', listener({ host: undefined }), 'listeners[].host is not a string'],
      ['a port as text', listener({ port: '3000' }), 'listeners[].port is not a number'],
      ['no slot', listener({ slot: undefined }), 'listeners[].slot is not a string'],
      ['portEnv a number', listener({ portEnv: 1 }), 'listeners[].portEnv is not a string'],
      ['portEnvValue null', listener({ portEnvValue: null }), 'listeners[].portEnvValue is not a string'],
      ['port 0', listener({ port: 0 }), 'listeners[].port is not a port'],
      ['port 65536', listener({ port: 65536 }), 'listeners[].port is not a port'],
      ['port 80.5', listener({ port: 80.5 }), 'listeners[].port is not a port'],
      ['an empty host', listener({ host: '' }), 'listeners[].host is empty'],
      ['a relative slot', listener({ slot: 'crac-listen-0' }), 'listeners[].slot is not an absolute path'],
      ['a working set', (m) => Object.assign(m, { workingSet: { pages: 3, lazyPages: 10 } }), undefined],
      ['workingSet a number', (m) => Object.assign(m, { workingSet: 3 }), 'workingSet is not an object'],
      [
        'workingSet.pages as text',
        (m) => Object.assign(m, { workingSet: { pages: '3', lazyPages: 1 } }),
        'workingSet.pages is not a number',
      ],
      ['no lazyPages', (m) => Object.assign(m, { workingSet: { pages: 3 } }), 'workingSet.lazyPages is not a number'],
      [
        'negative pages',
        (m) => Object.assign(m, { workingSet: { pages: -1, lazyPages: 1 } }),
        'workingSet holds something else than page counts',
      ],
      [
        'a half page',
        (m) => Object.assign(m, { workingSet: { pages: 1, lazyPages: 0.5 } }),
        'workingSet holds something else than page counts',
      ],
      [
        '65 listeners',
        (m) => Object.assign(m, { listeners: Array.from({ length: 65 }, () => (m.listeners as object[])[0]) }),
        'more than 64 listeners',
      ],
    ];
    for (const [name, edit, reason] of refusals) expect(reasons(edit), name).toEqual({ ts: reason, native: reason });
  });

  it('crac-restore --inspect verifies an image crac-seal sealed, hashing every file; written by others after, in its statistics, too', () => {
    const dir = sealed('image');
    writeFileSync(join(dir, 'stats-restore'), 'written by each restore');
    const { code, report } = inspect(dir);
    expect(code).toBe(0);
    expect(report.manifest).toEqual(readManifest(dir));
    expect(report.verification).toMatchObject({ ok: true, seal: { files: 2, hashed: 2 } });
  });

  it('crac-restore --inspect refuses an image changed since its seal, with the code and the file', () => {
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

  it('crac-restore --inspect refuses an unsealed image, a missing or same-size altered file, and a seal naming a file outside the image', () => {
    expect(refusalOf(unsealed('never-sealed'))).toMatchObject({
      code: 'CRAC_EIMAGE_CORRUPT',
      message: expect.stringContaining('not sealed'),
    });

    const altered = sealed('altered');
    writeFileSync(join(altered, 'pstree.img'), 'TREE');
    expect(refusalOf(altered)).toMatchObject({
      code: 'CRAC_EIMAGE_CORRUPT',
      message: expect.stringContaining('pstree.img changed since the checkpoint'),
    });
    writeFileSync(join(altered, 'pstree.img'), 'tree');
    // rewritten with the same bytes: hashed again, and accepted
    expect(inspect(altered).report.verification).toMatchObject({ ok: true, seal: { files: 2, hashed: 2 } });
    rmSync(join(altered, 'pages-1.img'));
    expect(refusalOf(altered)).toMatchObject({ code: 'CRAC_EIMAGE_CORRUPT', message: expect.stringContaining('pages-1.img is missing') });

    const escaping = sealed('escaping');
    editManifest(escaping, (manifest) => {
      const seal = manifest.seal as ImageSeal;
      return { ...manifest, seal: { ...seal, files: { '../outside.img': seal.files['pstree.img'] as SealedFile } } };
    });
    rmSync(join(escaping, 'pages-1.img'));
    rmSync(join(escaping, 'pstree.img'));
    expect(refusalOf(escaping)).toMatchObject({ code: 'CRAC_EIMAGE_CORRUPT', message: expect.stringContaining('../outside.img') });
  });

  it('crac-restore --inspect refuses a manifest that is a symbolic link, that others can write, or a sparse 1 GB file, at once', () => {
    expect(
      refusal((dir) => {
        copyFileSync(join(dir, MANIFEST_FILE), join(outside, 'manifest-copy.json'));
        rmSync(join(dir, MANIFEST_FILE));
        symlinkSync(join(outside, 'manifest-copy.json'), join(dir, MANIFEST_FILE));
      }),
    ).toMatchObject({ code: 'CRAC_EIMAGE', message: expect.stringContaining('is a symbolic link') });
    expect(refusal((dir) => chmodSync(join(dir, MANIFEST_FILE), 0o666))).toMatchObject({
      code: 'CRAC_EIMAGE_CORRUPT',
      message: expect.stringContaining(`${MANIFEST_FILE} can be written by others`),
    });
    expect(refusal((dir) => truncateSync(join(dir, MANIFEST_FILE), 1 << 30))).toMatchObject({
      code: 'CRAC_EIMAGE',
      message: expect.stringContaining('is 1073741824 bytes, more than a manifest can be (1048576)'),
    });
  });

  it('crac-restore --inspect refuses an image of another CPU or architecture, and warns about another kernel', () => {
    const withHost = (change: Partial<NonNullable<Manifest['host']>>) =>
      sealed(`host-${Math.random().toString(16).slice(2)}`, {
        prepare: (staging) => editManifest(staging, (manifest) => ({ ...manifest, host: { ...describeHostHere(), ...change } })),
      });
    const here = describeHostHere();
    expect(inspect(withHost({ cpuFlags: [...here.cpuFlags, 'crac_no_such_flag'] })).report.verification).toMatchObject({
      ok: false,
      error: {
        code: 'CRAC_EIMAGE_FOREIGN',
        message: expect.stringContaining('this CPU lacks features the checkpointed CPU had (crac_no_such_flag)'),
      },
    });
    expect(inspect(withHost({ arch: here.arch === 'arm64' ? 'x64' : 'arm64' })).report.verification).toMatchObject({
      ok: false,
      error: { code: 'CRAC_EIMAGE_FOREIGN', message: expect.stringContaining(`this host is ${here.arch}`) },
    });
    expect(inspect(withHost({ kernel: '6.1.0-crac-test' })).report.verification).toMatchObject({
      ok: true,
      warnings: [`the image was made on kernel 6.1.0-crac-test, this is ${here.kernel}`],
    });
  });

  it('crac-restore --inspect refuses an image whose node binary changed (content, size) or is gone, naming it', () => {
    const node = join(outside, 'node');
    writeFileSync(node, 'node binary');
    const dir = sealed('binaries', {
      prepare: (staging) => editManifest(staging, (manifest) => ({ ...manifest, binaries: describeBinaries(node, [], location) })),
    });
    expect(inspect(dir).report.verification).toMatchObject({ ok: true });
    const foreign = () => inspect(dir).report.verification?.error;
    // same size, other content; then another size; then gone
    writeFileSync(node, 'NODE binary');
    expect(foreign()).toMatchObject({
      code: 'CRAC_EIMAGE_FOREIGN',
      message: expect.stringContaining(`${node} (node) is not the file the image was made with`),
    });
    appendFileSync(node, '!');
    expect(foreign()).toMatchObject({
      code: 'CRAC_EIMAGE_FOREIGN',
      message: expect.stringContaining(`${node} (node) is not the file the image was made with`),
    });
    rmSync(node);
    expect(foreign()).toMatchObject({
      code: 'CRAC_EIMAGE_FOREIGN',
      message: expect.stringContaining(`${node} (node) is missing on this host`),
    });
  });

  it.runIf(process.geteuid?.() === 0)(
    "as root, keeps binaries' digests beside CRIU's kdat, never where the environment says: a digest planted there passes no changed binary",
    () => {
      const node = join(outside, 'node');
      writeFileSync(node, 'node binary');
      const dir = sealed('root-cache', {
        prepare: (staging) => editManifest(staging, (manifest) => ({ ...manifest, binaries: describeBinaries(node, [], location) })),
      });
      const recorded = readManifest(dir).binaries?.[0]?.sha256 as string;
      const replace = (content: string) => replaceFile(node, content);
      const planted = join(outside, 'planted');
      mkdirSync(join(planted, '.cache', 'crac'), { recursive: true });
      const env = { ...process.env, CRAC_CACHE_DIR: planted, XDG_CACHE_HOME: join(planted, '.cache'), HOME: planted };
      const rootCache = join(KDAT_DIR, 'digests.json');

      replace('node binary');
      expect(inspect(dir, env).report.verification).toMatchObject({ ok: true });
      const kept = JSON.parse(readFileSync(rootCache, 'utf8'))[node];
      expect(kept).toMatchObject({ ino: statSync(node).ino, sha256: recorded });
      expect(statSync(rootCache).mode & 0o777).toBe(0o600);
      expect(existsSync(join(planted, 'digests.json'))).toBe(false);

      // the same size, other content; a cache naming this very file with the recorded digest, wherever the environment points
      replace('NODE binary');
      const st = statSync(node);
      const lie = JSON.stringify({
        [node]: { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, sha256: recorded },
      });
      for (const file of [join(planted, 'digests.json'), join(planted, '.cache', 'crac', 'digests.json')]) writeFileSync(file, lie);
      expect(inspect(dir, env).report.verification?.error).toMatchObject({
        code: 'CRAC_EIMAGE_FOREIGN',
        message: expect.stringContaining(`${node} (node) is not the file the image was made with`),
      });
    },
  );

  it.runIf(process.geteuid?.() === 0)(
    "as root, keeps several files' digests per path (the node of each image restored on a node), newest first",
    () => {
      const node = join(outside, 'node');
      writeFileSync(node, 'node binary');
      const dir = sealed('per-path', {
        prepare: (staging) => editManifest(staging, (manifest) => ({ ...manifest, binaries: describeBinaries(node, [], location) })),
      });
      const recorded = readManifest(dir).binaries?.[0]?.sha256 as string;
      const rootCache = join(KDAT_DIR, 'digests.json');
      const replace = (content: string) => replaceFile(node, content);
      const cached = () => JSON.parse(readFileSync(rootCache, 'utf8'))[node];

      const first = replace('node binary');
      expect(inspect(dir).report.verification).toMatchObject({ ok: true });
      expect(cached()).toEqual({ ...first, sha256: recorded });
      const second = replace('node binary');
      expect(inspect(dir).report.verification).toMatchObject({ ok: true });
      expect(cached()).toEqual([
        { ...second, sha256: recorded },
        { ...first, sha256: recorded },
      ]);

      // read past the first entry: the file now at the path, other content, named second with the recorded digest
      const third = replace('NODE binary');
      const entries = [
        { ...second, sha256: 'f'.repeat(64) },
        { ...third, sha256: recorded },
      ];
      writeFileSync(rootCache, JSON.stringify({ ...JSON.parse(readFileSync(rootCache, 'utf8')), [node]: entries }), { mode: 0o600 });
      expect(inspect(dir).report.verification).toMatchObject({ ok: true });
      expect(cached()).toEqual(entries);
    },
  );

  it('inspectImage() and verifyImage() of @crac/core/image report what crac-restore --inspect does', async () => {
    const dir = sealed('api');
    const inspection = await inspectImage(dir);
    expect(inspection).toEqual({
      imagesDir: dir,
      manifest: readManifest(dir),
      verification: { ...inspect(dir).report.verification, durationMs: expect.any(Number) },
    });
    await expect(verifyImage(dir)).resolves.toMatchObject({ warnings: [], seal: { files: 2, hashed: 2, bytesHashed: 100_004 } });
    writeFileSync(join(dir, 'pstree.img'), 'TREE');
    await expect(verifyImage(dir)).rejects.toMatchObject({
      code: 'CRAC_EIMAGE_CORRUPT',
      message: expect.stringContaining('pstree.img changed since the checkpoint'),
    });
    await expect(inspectImage(outside)).rejects.toMatchObject({
      code: 'CRAC_EIMAGE',
      message: expect.stringContaining('is not a crac image'),
    });
    await expect(inspectImage('')).rejects.toMatchObject({ code: 'CRAC_EINVAL' });
    await expect(verifyImage(undefined as unknown as string)).rejects.toMatchObject({ code: 'CRAC_EINVAL' });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** Whether /proc/net/tcp shows a listener on 127.0.0.1:`port`. */
function listensOn(tcp: string, port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return tcp.split('\n').some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[1] === local && fields[3] === '0A';
  });
}

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
    return sealed('image', { prepare: (staging) => writeFileSync(join(staging, 'inventory.img'), 'inventory', { mode: 0o600 }) });
  }

  function restore(criu: string, args: string[] = []) {
    const dir = restorable();
    return spawnSync(restorer, ['--pid-namespace', 'never', ...args, dir], {
      encoding: 'utf8',
      env: { ...process.env, CRAC_CRIU_PATH: criu },
      timeout: 20_000,
    });
  }

  it("binds the manifest's listeners before CRIU runs and puts each socket in its slot's place (/dev/null when it cannot)", async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    try {
      const taken = (squatter.address() as AddressInfo).port;
      const [port, moved] = [await freePort(), await freePort()];
      const dir = sealed('image', {
        listeners: [
          { host: '127.0.0.1', port, portEnv: 'PORT', portEnvValue: String(port) },
          { host: '127.0.0.1', port: taken },
        ],
        prepare: (staging) => writeFileSync(join(staging, 'inventory.img'), 'inventory', { mode: 0o600 }),
      });
      // the stand-in records its arguments, what each inherited descriptor is, and the listeners then; then fails
      const criu = join(outside, 'recording-criu');
      writeFileSync(
        criu,
        `#!/bin/sh
[ "$1" = --version ] && { echo "Version: 4.2.1"; exit 0; }
printf '%s\n' "$@" > ${outside}/args
for arg in "$@"; do
  case "$arg" in fd\\[*) n=\${arg#fd[}; n=\${n%%]*}; echo "\${arg#*:} $(readlink /proc/$$/fd/$n)" >> ${outside}/inherited;; esac
done
cat /proc/net/tcp > ${outside}/tcp
exit 1
`,
        { mode: 0o755 },
      );
      const run = spawnSync(restorer, ['--pid-namespace', 'never', dir], {
        encoding: 'utf8',
        env: { ...process.env, CRAC_CRIU_PATH: criu, PORT: String(moved) },
        timeout: 20_000,
      });
      expect(run.status, run.stderr).toBe(125);
      const inherited = readFileSync(join(outside, 'inherited'), 'utf8').trim().split('\n');
      // the paths the dump saw: in the staging directory
      const recorded = readManifest(dir);
      const slot = (index: number) => (recorded.listeners?.[index]?.slot ?? '').slice(1);
      expect(inherited.filter((line) => line.includes('crac-listen-'))).toEqual([
        expect.stringMatching(new RegExp(`^${slot(0)} socket:\\[\\d+\\]$`)),
        `${slot(1)} /dev/null`,
      ]);
      expect(inherited).toContain(`${(recorded.handoff ?? '').slice(1)} /memfd:crac-handoff (deleted)`);
      const tcp = readFileSync(join(outside, 'tcp'), 'utf8');
      // PORT changed since the checkpoint, and the server followed it: the new port
      expect(listensOn(tcp, moved)).toBe(true);
      expect(listensOn(tcp, port)).toBe(false);
      // nothing of ours keeps it bound once the restore is over
      await expect(canListen(moved)).resolves.toBe(true);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it("reports the restore, then exits with the app's exit code", () => {
    // the app outlives the stand-in (which would reap it, as CRIU's detached restore never does)
    const run = restore(fakeCriu('sh -c "sleep 0.3; exit 7"'), ['--json']);
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

describe("crac-restore as CRIU's post-restore action script (the gate of the page files hashed meanwhile)", () => {
  /** crac-restore run as CRIU runs its scripts, at `action`, with the gate's FIFO at `path`. */
  const asScript = (action: string, path: string) =>
    spawnSync(restorer, [], { encoding: 'utf8', env: { ...process.env, CRTOOLS_SCRIPT_ACTION: action, CRAC_VERIFY_GATE: path } });

  it('lets every other action pass at once, and resumes the app only on "ok" in its own FIFO', () => {
    const fifo = join(outside, 'verify-gate');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    chmodSync(outside, 0o700);
    expect(asScript('pre-restore', fifo).status).toBe(0);
    // the verdict written into the FIFO, held open by a writer (as crac restore holds it)
    const gate = (verdict: string) =>
      spawnSync(
        'sh',
        ['-c', `exec 3<>"$0"; printf %s "$1" >&3; CRTOOLS_SCRIPT_ACTION=post-restore CRAC_VERIFY_GATE="$0" "$2"`, fifo, verdict, restorer],
        {
          encoding: 'utf8',
        },
      );
    expect(gate('ok').status).toBe(0);
    const refused = gate('no');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("the image's page files did not verify: the app is not resumed");
  });

  it('opens nothing but a FIFO of its own in a private directory: a path from elsewhere fails the gate', () => {
    const file = join(outside, 'verdict');
    writeFileSync(file, 'ok');
    chmodSync(outside, 0o700);
    // a regular file saying "ok", a device, a FIFO in a directory others may enter: all refused
    expect(asScript('post-restore', file).status).toBe(1);
    expect(asScript('post-restore', '/dev/zero').status).toBe(1);
    const open = mkdtempSync(join(tmpdir(), 'crac-gate-open-'));
    try {
      chmodSync(open, 0o755);
      execFileSync('mkfifo', ['-m', '600', join(open, 'verify-gate')]);
      expect(asScript('post-restore', join(open, 'verify-gate')).status).toBe(1);
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
  });
});
