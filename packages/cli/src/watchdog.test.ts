import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireNativeProgram } from '@crac/core/protocol';
import { afterEach, describe, expect, it } from 'vitest';

const started: number[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const pid of started.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
});

function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** `sh -c script` in a process group of its own; its pid and those of its children once they run. */
async function shell(script: string, children: number): Promise<{ pid: number; all: () => number[] }> {
  const child = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  const pid = child.pid as number;
  started.push(pid);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  for (let i = 0; i < 200 && output.trim().split(/\s+/).filter(Boolean).length < children; i++) await sleep(10);
  const pids = output.trim().split(/\s+/).map(Number);
  return { pid, all: () => [pid, ...pids].filter(running) };
}

/** crac-guard --watch with `lines` written to it; resolves with its stderr once its stdin ends and it exits. */
function watch(lines: string[]): Promise<string> {
  const child = spawn(requireNativeProgram('guard'), ['--watch'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(lines.join(''));
  return new Promise((resolve) => child.once('close', () => resolve(stderr)));
}

describe('crac-guard --watch (what crac checkpoint started ends with it)', () => {
  it('stops a registered tree (children too, also ones that ignore SIGTERM: SIGKILL 5 s later) and a process group, at the end of its stdin', {
    timeout: 20_000,
  }, async () => {
    // a tree: sh, a child that ignores SIGTERM, a grandchild
    const tree = await shell(`trap '' TERM; sh -c 'sleep 60 & echo $!; wait' & sleep 60 & echo $!; wait`, 2);
    const group = await shell('sleep 60 & echo $!; wait', 1);
    expect(tree.all().length).toBeGreaterThanOrEqual(3);
    expect(group.all()).toHaveLength(2);
    const stderr = await watch([`tree ${tree.pid}\n`, `group ${group.pid}\n`]);
    expect(stderr).toMatch(/stopping \d+ processes and 1 process group/);
    expect(tree.all()).toEqual([]);
    expect(group.all()).toEqual([]);
  });

  it("removes a registered private directory and its files; not one others may enter, not through a link, not another user's (as root)", async () => {
    const root = mkdtempSync(join(tmpdir(), 'crac-watch-'));
    dirs.push(root);
    const make = (name: string, mode: number) => {
      const dir = join(root, name);
      mkdirSync(dir, { mode });
      chmodSync(dir, mode);
      writeFileSync(join(dir, 'faults.log'), 'pages');
      return dir;
    };
    const own = make('own', 0o700);
    const open = make('open', 0o755);
    const target = make('target', 0o700);
    symlinkSync(target, join(root, 'link'));
    const theirs = make('theirs', 0o700);
    if (process.getuid?.() === 0) chownSync(theirs, 65534, 65534);
    expect(await watch([`dir ${own}\n`, `dir ${open}\n`, `dir ${join(root, 'link')}\n`, `dir ${theirs}\n`])).toBe('');
    expect(existsSync(own)).toBe(false);
    expect(readdirSync(open)).toEqual(['faults.log']);
    expect(readdirSync(target)).toEqual(['faults.log']);
    // another user's (as root, which CI is); else ours, and removed
    expect(existsSync(theirs)).toBe(process.getuid?.() === 0);
  });

  it('leaves alone what ended already, and says nothing then; refuses lines it cannot read', async () => {
    const ended = await shell('echo $$', 1);
    for (let i = 0; i < 100 && ended.all().length > 0; i++) await sleep(10);
    const bystander = await shell('sleep 60 & echo $!; wait', 1);
    const stderr = await watch([`tree ${ended.pid}\n`, `group ${ended.pid}\n`, 'tree 1\n', 'kill everything\n']);
    expect(stderr).toBe("crac-guard --watch: cannot read 'tree 1'\ncrac-guard --watch: cannot read 'kill everything'\n");
    expect(bystander.all()).toHaveLength(2);
  });
});
