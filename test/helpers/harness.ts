// What every end-to-end suite uses: the processes and temporary directories of @crac/tools,
// cleaned up after each test (importing this file installs that afterEach), the Node versions,
// the fixtures, and `crac` as a user runs it.
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { paths } from '@crac/tools/paths';
import { type StartOptions, type Started, start, stopAll, tempDir } from '@crac/tools/processes';
import { afterEach } from 'vitest';

export { run, type Started, type StdoutKind, start, stopAll, tempDir } from '@crac/tools/processes';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = paths.root;
export const FIXTURES = join(here, '..', 'fixtures');

/** A Node binary the real-CRIU suites run apps on. */
export interface NodeUnderTest {
  /** `node 22`: in test names. */
  name: string;
  /** `n22`: in names the test makes (tables, files) so that runs on two Nodes never share one. */
  id: string;
  bin: string;
  /** Its libuv opens io_uring at start-up (Node 22+): it cannot be dumped without crac-guard. */
  usesIoUring: boolean;
}

const HOST_MAJOR = process.versions.node.split('.')[0] as string;

/**
 * The Node versions every real-CRIU suite runs on: the machine's (20 here), the previous LTS and
 * the current one, for every suite. Measured on 2 shared cores: the whole e2e project took 586 s
 * with three Nodes (about 6 min with two), well inside CI's 90 min; criu-lifecycle is the
 * longest file (207 s). Should it grow too long, keep every suite on the host's Node and 24 and
 * Node 22 on the restore, signal and data suites.
 */
export const NODES: readonly NodeUnderTest[] = [
  { name: `node ${HOST_MAJOR}`, id: `n${HOST_MAJOR}`, bin: process.execPath, usesIoUring: Number(HOST_MAJOR) >= 22 },
  ...(HOST_MAJOR === '22' ? [] : [{ name: 'node 22', id: 'n22', bin: paths.node22, usesIoUring: true }]),
  ...(HOST_MAJOR === '24' ? [] : [{ name: 'node 24', id: 'n24', bin: paths.node24, usesIoUring: true }]),
];

/**
 * What a real-CRIU suite needs. Missing pieces fail the suite loudly, naming what is missing
 * and how to get it: a real suite never skips silently.
 */
export function assertRealCriuHost(): void {
  const missing: string[] = [];
  if (process.platform !== 'linux') missing.push(`Linux (this is ${process.platform})`);
  if (process.getuid?.() !== 0) missing.push('root (CRIU needs it)');
  if (!existsSync(paths.criu)) missing.push(`CRIU at ${paths.criu} (npx crac setup, or bash packages/cli/scripts/setup-criu.sh)`);
  for (const built of [
    paths.cli,
    ...['crac.node', 'crac-guard', 'crac-init', 'crac-restore'].map((file) => join(paths.nativeBuild, file)),
  ]) {
    if (!existsSync(built)) missing.push(`${relative(ROOT, built)} (pnpm bootstrap)`);
  }
  for (const node of NODES) if (!existsSync(node.bin)) missing.push(`${node.name} at ${node.bin} (pnpm install)`);
  if (missing.length > 0) throw new Error(`the real-CRIU suite cannot run here; missing: ${missing.join('; ')}`);
}

const scratch: (() => void)[] = [];

/** A fresh private directory for the running test: removed after it, with what the test started. */
export function testDir(prefix = 'crac-e2e-'): string {
  const dir = tempDir(prefix);
  scratch.push(dir.remove);
  return dir.path;
}

/** Where the running test's image goes (not created: the engine makes it 0700). */
export function imageDir(): string {
  return join(testDir('crac-image-'), 'image');
}

// After every test of a file that imports this harness.
afterEach(() => {
  stopAll();
  for (const remove of scratch.splice(0)) remove();
});

/**
 * `crac` as a user runs it: `crac restore` through the launcher (packages/cli/bin/crac), which execs
 * the native restorer; the other commands by this Node, as the launcher would run them.
 */
export function crac(args: string[], options: StartOptions = {}): Started {
  if (args[0] === 'restore') return start(paths.crac, args, options);
  return start(process.execPath, [paths.cli, ...args], options);
}
