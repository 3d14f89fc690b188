import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachedDigests, type DigestCacheLocation, digestCacheLocation } from './digest-cache.js';
import { digestFileSync } from './hash.js';

let dir: string;
let file: string;
let location: DigestCacheLocation;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crac-digest-cache-'));
  file = join(dir, 'node');
  location = { read: [join(dir, 'cache', 'digests.json')], write: join(dir, 'cache', 'digests.json'), rootOnly: false };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const FAKE = 'f'.repeat(64);

let versions = 0;
/** `file` replaced by a new one (another inode, kept linked: never reused), its identity as the cache keeps it. */
function replace(content: string) {
  writeFileSync(`${file}.new`, content);
  linkSync(`${file}.new`, `${file}.${++versions}`);
  renameSync(`${file}.new`, file);
  const st = statSync(file);
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

const cacheOf = (where = location.write) => JSON.parse(readFileSync(where, 'utf8'));

describe('digest cache', () => {
  it("finds a user's cache where the environment says; root's never there", () => {
    const env = { CRAC_CACHE_DIR: '/home/u/c', XDG_CACHE_HOME: '/home/u/.x', HOME: '/home/u' };
    expect(digestCacheLocation(env, 1000)).toEqual({ read: ['/home/u/c/digests.json'], write: '/home/u/c/digests.json', rootOnly: false });
    expect(digestCacheLocation({ XDG_CACHE_HOME: '/home/u/.x' }, 1000).write).toBe('/home/u/.x/crac/digests.json');
    const root = digestCacheLocation(env, 0);
    const home = join(userInfo().homedir, '.cache', 'crac', 'digests.json');
    expect(root).toEqual({ read: ['/dev/shm/crac-criu/digests.json', home], write: home, rootOnly: true });
    expect(JSON.stringify(root)).not.toContain('/home/u');
  });

  it('hashes a file once, then answers from the cache while it is the same file', () => {
    const identity = replace('node binary');
    const sha256 = digestFileSync(file);
    expect(cachedDigests([file], location).get(file)).toBe(sha256);
    expect(cacheOf()[file]).toEqual({ ...identity, sha256 });
    expect(statSync(location.write).mode & 0o777).toBe(0o600);
    // the cache is read: a digest it holds for this very file is taken without hashing
    writeFileSync(location.write, JSON.stringify({ [file]: { ...identity, sha256: FAKE } }));
    expect(cachedDigests([file], location).get(file)).toBe(FAKE);
  });

  it('keeps up to 4 files per path, newest first, and reads past the first', () => {
    const identities = ['a', 'b', 'c', 'd', 'e'].map((content) => {
      const identity = replace(`node ${content}`);
      cachedDigests([file], location);
      return { ...identity, sha256: digestFileSync(file) };
    });
    expect(cacheOf()[file]).toEqual(identities.slice(1).reverse());
    const older = identities[3] as (typeof identities)[number];
    writeFileSync(location.write, JSON.stringify({ [file]: [identities[4], { ...older, ...replace('node d'), sha256: FAKE }] }));
    expect(cachedDigests([file], location).get(file)).toBe(FAKE);
  });

  it('drops the paths that are gone when it writes', () => {
    writeFileSync(join(dir, 'cache.tmp'), '');
    mkdirSync(join(dir, 'cache'));
    const gone = { dev: 1, ino: 2, size: 3, mtimeMs: 4, ctimeMs: 5, sha256: FAKE };
    writeFileSync(location.write, JSON.stringify({ [join(dir, 'gone')]: gone }));
    replace('node binary');
    cachedDigests([file], location);
    expect(Object.keys(cacheOf())).toEqual([file]);
  });

  it('never follows a file planted at its temporary name', () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep me');
    mkdirSync(join(dir, 'cache'));
    symlinkSync(victim, `${location.write}.${process.pid}.tmp`);
    replace('node binary');
    expect(cachedDigests([file], location).get(file)).toBe(digestFileSync(file));
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(lstatSync(`${location.write}.${process.pid}.tmp`).isSymbolicLink(), 'what was planted is not ours to remove').toBe(true);
  });

  it.runIf(process.geteuid?.() === 0)("as root, reads only a cache that is root's alone", () => {
    const identity = replace('node binary');
    const rootOnly = { ...location, rootOnly: true };
    mkdirSync(join(dir, 'cache'), { mode: 0o700 });
    writeFileSync(location.write, JSON.stringify({ [file]: { ...identity, sha256: FAKE } }), { mode: 0o600 });
    expect(cachedDigests([file], rootOnly).get(file)).toBe(FAKE);
    writeFileSync(location.write, JSON.stringify({ [file]: { ...identity, sha256: FAKE } }), { mode: 0o600 });
    chmodSync(location.write, 0o666);
    expect(cachedDigests([file], rootOnly).get(file)).toBe(digestFileSync(file));
    // a directory others may write (a user's, where root would write a file) is neither read nor written
    writeFileSync(location.write, JSON.stringify({ [file]: { ...identity, sha256: FAKE } }), { mode: 0o600 });
    chmodSync(location.write, 0o600);
    chmodSync(join(dir, 'cache'), 0o777);
    expect(cachedDigests([file], rootOnly).get(file)).toBe(digestFileSync(file));
    expect(cacheOf()[file].sha256).toBe(FAKE);
  });
});
