import { spawnSync } from 'node:child_process';
import { constants, copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CracError, ErrorCode } from '../errors.js';
import { requireNativeProgram } from '../protocol/programs.js';
import { MANIFEST_FILE } from './layout.js';
import type { Manifest } from './manifest.js';
import { stageImageDir } from './staging.js';
import { markWorkingSet, parseFaultLog } from './working-set.js';

/** What {@link addWorkingSet} made of an image: pages restored before the app resumes, and after. */
export interface WorkingSetSummary {
  /** Pages of the working set (4 KiB each): restored with the process, before it resumes. */
  pages: number;
  /** Pages left to the lazy-pages server: on first touch, or in the background. */
  lazyPages: number;
}

const PAGEMAP = /^pagemap-(\d+)\.img$/;

/**
 * Gives the sealed image in `imagesDir` the working set that `faultLog` records (the log of a
 * lazy-pages server that served a trial restore, `crac-restore --record-working-set`): its pages
 * lose the lazy flag in the image's pagemaps, and the manifest says so (`workingSet`), so that
 * `crac restore` loads them with the process and the rest lazily. Made aside like a checkpoint's
 * image (copies of the files that stay, the pagemaps and manifest rewritten), sealed by the
 * seal step, then put in place in one step: a failure leaves the image as it was.
 * @throws {@link CracError} `CRAC_EIMAGE` when the image cannot be read, rewritten or sealed.
 */
export function addWorkingSet(imagesDir: string, faultLog: string): WorkingSetSummary {
  const faults = parseFaultLog(faultLog);
  const staged = stageImageDir(imagesDir);
  try {
    const manifest = JSON.parse(readFileSync(join(staged.target, MANIFEST_FILE), 'utf8')) as Manifest;
    let pages = manifest.workingSet?.pages ?? 0;
    let lazyPages = 0;
    for (const name of readdirSync(staged.target)) {
      if (name === MANIFEST_FILE) continue;
      const into = join(staged.via, name);
      const pid = PAGEMAP.exec(name)?.[1];
      if (pid === undefined) {
        // copied, not linked: removing the old image's names would change the copies' ctime after
        // the seal, and a quick verification would hash everything at every restore. A clone where
        // the file system has them (btrfs, XFS).
        copyFileSync(join(staged.target, name), into, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
        continue;
      }
      const marked = markWorkingSet(readFileSync(join(staged.target, name)), faults.get(Number(pid)) ?? new Set());
      writeFileSync(into, marked.image, { mode: 0o600, flag: 'wx' });
      pages += marked.eagerPages;
      lazyPages += marked.lazyPages;
    }
    const { seal: _seal, ...unsealed } = manifest;
    const withWorkingSet: Manifest = { ...unsealed, workingSet: { pages, lazyPages } };
    writeFileSync(join(staged.via, MANIFEST_FILE), `${JSON.stringify(withWorkingSet, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    seal(staged.path, staged.target);
    return { pages, lazyPages };
  } catch (error) {
    staged.discard();
    if (error instanceof CracError) throw error;
    throw new CracError(ErrorCode.IMAGE, `cannot add a working set to ${imagesDir}: ${(error as Error).message}`, { cause: error });
  } finally {
    staged.close();
  }
}

/** The seal step, as CRIU runs it at post-dump: the staged image sealed, then put in place of `target`. */
function seal(staging: string, target: string): void {
  const sealed = spawnSync(requireNativeProgram('seal'), [], {
    env: { CRTOOLS_SCRIPT_ACTION: 'post-dump', CRAC_SEAL_DIR: staging, CRAC_SEAL_STAGING: staging, CRAC_SEAL_TARGET: target },
    encoding: 'utf8',
  });
  if (sealed.status !== 0) {
    const why = sealed.error?.message ?? sealed.stderr.trim().replace(/^crac: /, '');
    throw new CracError(ErrorCode.IMAGE, `cannot add a working set to ${target}: ${why}`);
  }
}
