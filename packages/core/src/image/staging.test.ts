import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failedDumpDir, stageImageDir } from './staging.js';

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'crac-staging-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

/** An image from an earlier checkpoint (the seal step, in C, puts a staged image in place). */
function previousImage(target: string, content: string): void {
  mkdirSync(target, { recursive: true, mode: 0o700 });
  writeFileSync(join(target, 'pages-1.img'), content);
}

describe('an image written aside, to be put in place once complete', () => {
  it('writes into a private directory beside the target, through its descriptor, and leaves the target alone', () => {
    const target = join(base, 'deep', 'image');
    const staged = stageImageDir(target);
    expect(staged.path.startsWith(join(base, 'deep', '.image.crac-staging.'))).toBe(true);
    expect(statSync(staged.path).mode & 0o777).toBe(0o700);
    writeFileSync(join(staged.via, 'pages-1.img'), 'new');
    expect(readFileSync(join(staged.path, 'pages-1.img'), 'utf8')).toBe('new');
    expect(existsSync(target)).toBe(false);
    staged.discard();
    staged.close();
    expect(readdirSync(join(base, 'deep'))).toEqual([]);
  });

  it('a failed checkpoint leaves the previous image as it was, keeping the log aside', () => {
    const target = join(base, 'image');
    previousImage(target, 'second');

    const failed = stageImageDir(target);
    writeFileSync(join(failed.via, 'pages-1.img'), 'half');
    writeFileSync(join(failed.via, 'dump.log'), 'Error (criu/bfd.c:131): No space left on device');
    const log = failed.discard();
    expect(failed.discard(), 'once').toBe(log);
    failed.close();
    expect(log).toBe(join(failedDumpDir(target), 'dump.log'));
    expect(readdirSync(failedDumpDir(target))).toEqual(['dump.log']);
    expect(readFileSync(join(target, 'pages-1.img'), 'utf8')).toBe('second');
    expect(readdirSync(base).sort()).toEqual(['.image.crac-failed', 'image']);
  });

  it("never follows nor removes what is in the way of the log and is not its own (a link, a file, another user's directory)", () => {
    const target = join(base, 'image');
    const elsewhere = join(base, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'precious'), 'keep');
    const planted = failedDumpDir(target);
    const root = process.geteuid?.() === 0;
    const plants: [string, () => void][] = [
      ['a symbolic link to a directory', () => symlinkSync(elsewhere, planted)],
      ['a file', () => writeFileSync(planted, 'mine')],
      ...(root
        ? ([
            [
              "another user's directory",
              () => {
                mkdirSync(planted);
                writeFileSync(join(planted, 'dump.log'), 'theirs');
                chownSync(join(planted, 'dump.log'), 65534, 65534);
                chownSync(planted, 65534, 65534);
              },
            ],
          ] as [string, () => void][])
        : []),
    ];
    for (const [what, plant] of plants) {
      plant();
      const failed = stageImageDir(target);
      writeFileSync(join(failed.via, 'pages-1.img'), 'half');
      writeFileSync(join(failed.via, 'dump.log'), 'Error (criu/cr-dump.c:1): the dump failed');
      const log = failed.discard();
      failed.close();
      expect(log, what).toMatch(new RegExp(`^${planted.replaceAll('.', '\\.')}\\.\\d+\\.[0-9a-f]+/dump\\.log$`));
      expect(readFileSync(log as string, 'utf8')).toContain('the dump failed');
      expect(readFileSync(join(elsewhere, 'precious'), 'utf8'), what).toBe('keep');
      expect(
        readdirSync(base).filter((name) => name.includes('crac-staging')),
        what,
      ).toEqual([]);
      if (what === 'a file') expect(readFileSync(planted, 'utf8')).toBe('mine');
      if (what.startsWith('another')) expect(readFileSync(join(planted, 'dump.log'), 'utf8')).toBe('theirs');
      rmSync(planted, { recursive: true, force: true });
      rmSync(dirname(log as string), { recursive: true, force: true });
    }
  });

  it('clears what a process that died mid-way left, keeping its log', () => {
    const target = join(base, 'image');
    const abandoned = join(base, '.image.crac-staging.999999999.abcd');
    mkdirSync(abandoned);
    writeFileSync(join(abandoned, 'dump.log'), 'killed');
    writeFileSync(join(abandoned, 'pages-1.img'), 'half');
    const staged = stageImageDir(target);
    expect(existsSync(abandoned)).toBe(false);
    expect(readFileSync(join(failedDumpDir(target), 'dump.log'), 'utf8')).toBe('killed');
    staged.discard();
    staged.close();
  });

  it('refuses, before writing anything, a target that is not a directory of images of this user', () => {
    const holding = join(base, 'holding');
    mkdirSync(holding);
    writeFileSync(join(holding, 'notes.txt'), 'mine');
    expect(() => stageImageDir(holding)).toThrow(/holds files that are not part of an image \(notes\.txt\)/);
    const link = join(base, 'link');
    symlinkSync(holding, link);
    expect(() => stageImageDir(link)).toThrow(/is not a directory \(a symbolic link\)/);
    expect(readdirSync(base).sort()).toEqual(['holding', 'link']);
  });

  it('refuses a target under a parent others can write, and leaves nothing there', () => {
    const shared = join(base, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    expect(() => stageImageDir(join(shared, 'image'))).toThrow(
      expect.objectContaining({
        code: 'CRAC_EIMAGE',
        message: expect.stringMatching(/is writable by others .*refusing to checkpoint into it/),
      }),
    );
    expect(readdirSync(shared)).toEqual([]);
  });
});
