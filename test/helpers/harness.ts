import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, '..', '..');
export const CLI = join(ROOT, 'packages', 'cli', 'dist', 'cli.js');
export const FIXTURES = join(here, '..', 'fixtures');

/** The Node versions every real-CRIU suite runs on: the machine's, and the current LTS. */
export const NODES = [
  { name: `node ${process.versions.node.split('.')[0]}`, bin: process.execPath },
  { name: 'node 24', bin: join(here, '..', 'node_modules', 'node24', 'bin', 'node') },
];

/**
 * What a real-CRIU suite needs. Missing pieces fail the suite loudly, naming what is missing
 * and how to get it: a real suite never skips silently.
 */
export function assertRealCriuHost(): void {
  const missing: string[] = [];
  if (process.platform !== 'linux') missing.push(`Linux (this is ${process.platform})`);
  if (process.getuid?.() !== 0) missing.push('root (CRIU needs it)');
  const criu = process.env.CRAC_CRIU_PATH || '/usr/local/libexec/crac/criu';
  if (!existsSync(criu)) missing.push(`CRIU at ${criu} (bash scripts/setup-criu.sh)`);
  for (const built of ['packages/cli/dist/cli.js', 'packages/core/native/build/crac.node', 'packages/core/native/build/crac-guard']) {
    if (!existsSync(join(ROOT, built))) missing.push(`${built} (pnpm bootstrap)`);
  }
  for (const node of NODES) if (!existsSync(node.bin)) missing.push(`${node.name} at ${node.bin} (pnpm install)`);
  if (missing.length > 0) throw new Error(`the real-CRIU suite cannot run here; missing: ${missing.join('; ')}`);
}

/** A fresh private directory, removed by the returned function. */
export function tempDir(prefix = 'crac-e2e-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
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

/** Where a command's stdout and stderr go: a real pipe, a file, or a terminal (a pty). */
export type StdoutKind = 'pipe' | 'file' | 'tty';

export interface Started {
  child: ChildProcess;
  /** Everything printed so far. */
  output(): string;
  /** The JSON lines printed so far. */
  events(): Record<string, unknown>[];
  /** Resolves with the first JSON line matching, or rejects after `timeoutMs`. */
  waitFor(match: (event: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<Started>();

/**
 * Ends whatever a test started and left running: the command's process group, and every
 * process that announced its pid in a JSON line (restored apps live outside that group).
 */
export function stopAll(): void {
  for (const started of running) {
    const pids = new Set(
      started
        .events()
        .map((event) => event.pid)
        .filter((pid): pid is number => typeof pid === 'number'),
    );
    for (const pid of pids) kill(pid);
    if (started.child.pid) kill(-started.child.pid);
  }
  running.clear();
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Starts a command with its stdout and stderr on the kind of file asked for. */
export function start(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; stdout?: StdoutKind; cwd?: string } = {},
): Started {
  const kind = options.stdout ?? 'pipe';
  const env = { ...process.env, NO_COLOR: '1', ...options.env };
  let buffer = '';
  let child: ChildProcess;
  let readFile: (() => string) | undefined;
  if (kind === 'file') {
    const dir = mkdtempSync(join(tmpdir(), 'crac-out-'));
    const file = join(dir, 'output.log');
    const fd = openSync(file, 'w');
    child = spawn(command, args, { env, cwd: options.cwd, stdio: ['ignore', fd, fd], detached: true });
    readFile = () => readFileSync(file, 'utf8');
  } else if (kind === 'pipe') {
    // Node's own 'pipe' stdio is a socketpair: go through a shell to give the command a real pipe.
    child = spawn('/bin/bash', ['-c', 'set -o pipefail; "$@" 2>&1 | cat', 'bash', command, ...args], {
      env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
  } else {
    const line = [command, ...args].map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(' ');
    child = spawn('script', ['-qefc', line, '/dev/null'], { env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  }
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
  });
  const output = () => (readFile ? readFile() : buffer);
  const events = () =>
    output()
      .split(/\r?\n/)
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  exited.then(() => {
    done = true;
  });
  const started: Started = {
    child,
    output,
    events,
    exited,
    async waitFor(match, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events().find(match);
        if (found) return found;
        if (done || Date.now() > deadline) {
          // one last read: the process may have printed it just before ending
          const last = events().find(match);
          if (last) return last;
          throw new Error(`${done ? 'the process ended' : 'timed out'} before the expected line; output:\n${output()}`);
        }
        await sleep(20);
      }
    },
  };
  running.add(started);
  return started;
}

/** Runs a command to its end. */
export async function run(command: string, args: string[], options: Parameters<typeof start>[2] = {}) {
  const started = start(command, args, options);
  const { code, signal } = await started.exited;
  // a pipe may still hold the last bytes
  await sleep(20);
  return { code, signal, output: started.output(), events: started.events() };
}

/** `crac` as a user runs it. */
export function crac(args: string[], options: Parameters<typeof start>[2] = {}): Started {
  return start(process.execPath, [CLI, ...args], options);
}
