import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CracError } from '../../errors.js';
import { findCriu } from './binary.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A directory holding a `criu` that prints `Version: <version>`. */
function fakeCriu(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'crac-criu-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'criu'), `#!/bin/sh\necho "Version: ${version}"\n`);
  chmodSync(join(dir, 'criu'), 0o755);
  return dir;
}

/** CRIU's kernel-probe cache directory (native/src/lib/criu/kdat_dir.h), where root keeps CRIU's version too. */
const KDAT_DIR = '/dev/shm/crac-criu';

// no sbin directories: this host's own CRIU packages must not change the answers
const nowhere = '/nonexistent/crac/criu';

describe('findCriu', () => {
  it('takes CRAC_CRIU_PATH when set, and nothing else then', () => {
    const good = fakeCriu('4.2.1');
    expect(findCriu({ CRAC_CRIU_PATH: join(good, 'criu'), PATH: good }, { defaultPath: nowhere, sbinDirs: [] })).toEqual({
      path: join(good, 'criu'),
      version: '4.2.1',
      from: 'env',
    });
    const old = fakeCriu('3.17.1');
    expect(() => findCriu({ CRAC_CRIU_PATH: join(old, 'criu'), PATH: good }, { defaultPath: nowhere, sbinDirs: [] })).toThrow(
      /CRIU 3\.17\.1 at .* is too old.*npx crac setup/,
    );
  });

  it('takes the default path before PATH', () => {
    const installed = fakeCriu('4.3');
    const onPath = fakeCriu('4.2.1');
    expect(findCriu({ PATH: onPath }, { defaultPath: join(installed, 'criu'), sbinDirs: [] })).toMatchObject({
      version: '4.3',
      from: 'default',
    });
  });

  it('passes over a CRIU on PATH that is too old, for a newer one later on PATH', () => {
    const old = fakeCriu('3.17.1');
    const good = fakeCriu('4.2.1');
    expect(findCriu({ PATH: `relative/dir:${old}:${good}` }, { defaultPath: nowhere, sbinDirs: [] })).toEqual({
      path: join(good, 'criu'),
      version: '4.2.1',
      from: 'path',
    });
  });

  it('says what it found and the fix when nothing will do: a CracError CRAC_EENGINE', () => {
    const old = fakeCriu('3.17.1');
    // /sbin and /usr/sbin are often one directory: one file is named once
    const alias = mkdtempSync(join(tmpdir(), 'crac-criu-alias-'));
    dirs.push(alias);
    rmSync(alias, { recursive: true });
    symlinkSync(old, alias);
    const error = (() => {
      try {
        findCriu({ PATH: `${old}:${alias}` }, { defaultPath: nowhere, sbinDirs: [] });
      } catch (thrown) {
        return thrown as CracError;
      }
      throw new Error('found a CRIU');
    })();
    expect(error).toBeInstanceOf(CracError);
    expect(error.code).toBe('CRAC_EENGINE');
    expect(error.message).toBe(
      `no CRIU 4.2 or newer at ${nowhere} or on PATH (CRIU 3.17.1 at ${join(old, 'criu')} is too old (4.2 or newer is needed)): ` +
        'install CRIU 4.2 or newer with `npx crac setup` (as root; the command of @crac/cli), or set CRAC_CRIU_PATH to one',
    );
  });

  it('is not fooled by a criu that prints no version', () => {
    const dir = fakeCriu('');
    writeFileSync(join(dir, 'criu'), '#!/bin/sh\necho hello\n');
    expect(() => findCriu({ PATH: dir }, { defaultPath: nowhere, sbinDirs: [] })).toThrow(/did not print a CRIU version/);
  });

  it('as root, takes a CRAC_CRIU_PATH only when root alone can replace it (the file and every directory above it)', () => {
    const root = process.geteuid?.() === 0;
    const dir = fakeCriu('4.2.1');
    const criu = join(dir, 'criu');
    const find = () => findCriu({ CRAC_CRIU_PATH: criu }, { defaultPath: nowhere, sbinDirs: [] });
    expect(find().path).toBe(criu);
    // someone else's file (as root: another user's; not root: nobody else's rule applies)
    if (root) chownSync(criu, 65534, 65534);
    if (root)
      expect(find).toThrow(
        expect.objectContaining({
          code: 'CRAC_EENGINE',
          message: expect.stringMatching(/CRAC_CRIU_PATH=.* is not root's alone .*owner uid 65534/),
        }),
      );
    else expect(find().path).toBe(criu);
    if (root) chownSync(criu, 0, 0);
    // a directory others can write (not sticky): they could put another program there
    chmodSync(dir, 0o777);
    if (root)
      expect(find).toThrow(
        expect.objectContaining({
          code: 'CRAC_EENGINE',
          message: expect.stringMatching(/is writable by others .*the directory of CRAC_CRIU_PATH=/),
        }),
      );
    else expect(find().path).toBe(criu);
  });

  it("as root, runs a CRIU's --version once per file as it is: again only once the file changed", () => {
    const root = process.geteuid?.() === 0;
    // the cache lives in CRIU's kernel-probe directory, which the first restore makes
    if (root && !existsSync(KDAT_DIR)) mkdirSync(KDAT_DIR, { mode: 0o700 });
    const dir = fakeCriu('4.2.1');
    const criu = join(dir, 'criu');
    const runs = join(dir, 'runs');
    const script = (version: string) => `#!/bin/sh\necho run >> ${runs}\necho "Version: ${version}"\n`;
    writeFileSync(criu, script('4.2.1'));
    const find = () => findCriu({ CRAC_CRIU_PATH: criu }, { defaultPath: nowhere, sbinDirs: [] }).version;
    const timesRun = () => readFileSync(runs, 'utf8').split('\n').filter(Boolean).length;
    expect(find()).toBe('4.2.1');
    expect(find()).toBe('4.2.1');
    // not root: no cache, every search runs it
    expect(timesRun()).toBe(root ? 1 : 2);
    writeFileSync(criu, script('4.3'));
    expect(find()).toBe('4.3');
    expect(timesRun()).toBe(root ? 2 : 3);
  });

  it.runIf(process.geteuid?.() === 0)('as root, reads no cached version from a file root does not own', () => {
    if (!existsSync(KDAT_DIR)) mkdirSync(KDAT_DIR, { mode: 0o700 });
    const dir = fakeCriu('4.2.1');
    const criu = join(dir, 'criu');
    const st = statSync(criu, { bigint: true });
    const time = (ns: bigint) => `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
    const key = `${criu}\t${st.dev} ${st.ino} ${st.size} ${time(st.mtimeNs)} ${time(st.ctimeNs)}\t`;
    const cache = join(KDAT_DIR, 'criu.version');
    try {
      writeFileSync(cache, `${key}9.9\n`, { mode: 0o600 });
      // root's own line is read: the proof that the key above is the one the search computes
      expect(findCriu({ CRAC_CRIU_PATH: criu }, { defaultPath: nowhere, sbinDirs: [] }).version).toBe('9.9');
      chownSync(cache, 65534, 65534);
      expect(findCriu({ CRAC_CRIU_PATH: criu }, { defaultPath: nowhere, sbinDirs: [] }).version).toBe('4.2.1');
    } finally {
      rmSync(cache, { force: true });
    }
  });
});
