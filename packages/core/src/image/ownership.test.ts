import { chmodSync, chownSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertSafeImageDirFd, directoryUnsafety, fileUnsafety, IMAGE_DIR_FLAGS, openSafeImageDir, restoringUid } from './ownership.js';

const ME = 1000;
const OTHER = 1001;
const ROOT = 0;

describe('ownership rules (like sshd StrictModes)', () => {
  it('an image file: owned by the restoring user or root, written by no one else', () => {
    expect(fileUnsafety({ uid: ME, mode: 0o100600 }, ME)).toBeUndefined();
    expect(fileUnsafety({ uid: ROOT, mode: 0o100644 }, ME)).toBeUndefined();
    expect(fileUnsafety({ uid: OTHER, mode: 0o100600 }, ME)).toBe('owner');
    expect(fileUnsafety({ uid: ME, mode: 0o100620 }, ME)).toBe('writable');
    expect(fileUnsafety({ uid: ME, mode: 0o100602 }, ME)).toBe('writable');
    // root restores only what root owns: another user's image runs code as root
    expect(fileUnsafety({ uid: ROOT, mode: 0o100600 }, ROOT)).toBeUndefined();
    expect(fileUnsafety({ uid: ME, mode: 0o100600 }, ROOT)).toBe('owner');
  });

  it('the image directory: the same, and never a sticky directory others can write', () => {
    expect(directoryUnsafety({ uid: ME, mode: 0o40700 }, ME)).toBeUndefined();
    expect(directoryUnsafety({ uid: ROOT, mode: 0o40755 }, ME)).toBeUndefined();
    expect(directoryUnsafety({ uid: OTHER, mode: 0o40700 }, ME)).toBe('owner');
    expect(directoryUnsafety({ uid: ME, mode: 0o40770 }, ME)).toBe('writable');
    expect(directoryUnsafety({ uid: ME, mode: 0o41777 }, ME)).toBe('writable');
    expect(directoryUnsafety({ uid: ME, mode: 0o40700 }, ROOT)).toBe('owner');
  });

  it('a parent directory: a sticky one others can write only above an entry of the user or root', () => {
    const tmp = { uid: ROOT, mode: 0o41777 };
    expect(directoryUnsafety(tmp, ME, { uid: ME, mode: 0o40700 })).toBeUndefined();
    expect(directoryUnsafety(tmp, ME, { uid: ROOT, mode: 0o40755 })).toBeUndefined();
    expect(directoryUnsafety(tmp, ME, { uid: OTHER, mode: 0o40700 })).toBe('writable');
    expect(directoryUnsafety(tmp, ROOT, { uid: ME, mode: 0o40700 })).toBe('writable');
    // not sticky: anyone who can write it can rename the entry away and put another in its place
    expect(directoryUnsafety({ uid: ROOT, mode: 0o40777 }, ME, { uid: ME, mode: 0o40700 })).toBe('writable');
    expect(directoryUnsafety({ uid: ROOT, mode: 0o40775 }, ME, { uid: ME, mode: 0o40700 })).toBe('writable');
    // a sticky directory of another user: refused for its owner
    expect(directoryUnsafety({ uid: OTHER, mode: 0o41777 }, ME, { uid: ME, mode: 0o40700 })).toBe('owner');
  });
});

describe.runIf(process.platform === 'linux')('the image directory and its parents, through descriptors', () => {
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'crac-ownership-'));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  function image(parentMode: number, imageMode = 0o700): string {
    const parent = join(base, 'parent');
    mkdirSync(parent);
    chmodSync(parent, parentMode);
    const dir = join(parent, 'image');
    mkdirSync(dir);
    chmodSync(dir, imageMode);
    return dir;
  }
  function refusal(dir: string, uid?: number): Error | undefined {
    try {
      closeSync(openSafeImageDir(dir, uid));
      return undefined;
    } catch (error) {
      return error as Error;
    }
  }

  it('accepts a private directory, also below a sticky world-writable one', () => {
    expect(refusal(image(0o700))).toBeUndefined();
    rmSync(join(base, 'parent'), { recursive: true });
    expect(refusal(image(0o1777))).toBeUndefined();
  });

  it('refuses a directory others can write, naming it, its owner and mode, and the fix', () => {
    const dir = image(0o700, 0o777);
    const error = refusal(dir);
    expect(error).toMatchObject({ code: 'CRAC_EIMAGE' });
    expect(error?.message).toContain(`${dir} is writable by others (owner uid ${restoringUid()}`);
    expect(error?.message).toContain('mode 777');
    expect(error?.message).toContain(`chmod go-w ${dir}`);
  });

  it('refuses a parent others can write that is not sticky, naming the parent', () => {
    const dir = image(0o777);
    const error = refusal(dir);
    expect(error).toMatchObject({ code: 'CRAC_EIMAGE' });
    expect(error?.message).toContain(`${join(base, 'parent')} (a parent directory of ${dir}) is writable by others`);
  });

  it('refuses a directory of another user (checked for another restoring user)', () => {
    const dir = image(0o700);
    // as root, the directory is given to a user first: a root-owned one is fine for every user
    let owner = restoringUid();
    if (owner === 0) {
      owner = 4242;
      chownSync(dir, owner, owner);
    }
    const fd = openSync(dir, IMAGE_DIR_FLAGS);
    try {
      expect(() => assertSafeImageDirFd(fd, dir, owner + 1)).toThrow(/belongs to another user .* not to you/);
    } finally {
      closeSync(fd);
    }
  });

  it.runIf(process.getuid?.() === 0)('as root: refuses an image directory or a parent another user owns', () => {
    const dir = image(0o755);
    chownSync(dir, 4242, 4242);
    expect(refusal(dir)).toMatchObject({
      code: 'CRAC_EIMAGE',
      message: expect.stringMatching(/belongs to another user \(owner uid 4242.*mode 700\), not to you \(uid 0.*chown 0 /),
    });
    chownSync(dir, 0, 0);
    chownSync(join(base, 'parent'), 4242, 4242);
    expect(refusal(dir)?.message).toMatch(/parent directory of .* belongs to another user \(owner uid 4242/);
    // a sticky parent others can write, above an entry another user owns
    chownSync(join(base, 'parent'), 0, 0);
    chmodSync(join(base, 'parent'), 0o1777);
    chownSync(dir, 4242, 4242);
    expect(refusal(dir)?.message).toMatch(/belongs to another user/);
  });

  it('refuses a symbolic link in place of the directory, and what is not a directory', () => {
    const dir = image(0o700);
    const link = join(base, 'link');
    symlinkSync(dir, link);
    expect(refusal(link)).toMatchObject({
      code: 'CRAC_EIMAGE',
      message: expect.stringContaining(`${link} is not a crac image: a symbolic link`),
    });
    expect(refusal(join(base, 'missing'))?.message).toContain('is not a crac image: cannot read the directory (ENOENT)');
  });
});
