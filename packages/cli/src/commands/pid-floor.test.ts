import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireNativeProgram } from '@crac/core/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { lastPid, PID_FLOOR, raisePidCounter } from './pid-floor.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs `sh -c script` as pid 1 of a new pid namespace (a user namespace too: no root needed), with `guard` in $GUARD. */
function inNewPidNamespace(script: string, guard: string) {
  const run = spawnSync('unshare', ['--user', '--map-root-user', '--pid', '--fork', '--mount-proc', 'sh', '-c', script], {
    encoding: 'utf8',
    env: { ...process.env, GUARD: guard },
  });
  if (run.error || run.status !== 0)
    throw new Error(`unshare failed (${run.error?.message ?? run.stderr}): a new pid namespace is needed here`);
  return run.stdout.trim();
}

describe('the pid floor of the app crac checkpoint starts', () => {
  it('crac-guard --advance-pids moves a fresh pid namespace past the floor: the next process gets a pid above it', () => {
    const guard = requireNativeProgram('guard');
    const [before, after] = inNewPidNamespace(`sh -c 'echo $$'; "$GUARD" --advance-pids ${PID_FLOOR}; sh -c 'echo $$'`, guard)
      .split('\n')
      .map(Number);
    expect(before).toBeLessThan(10);
    expect(after).toBeGreaterThan(PID_FLOOR);
    // past it already: one fork says so (the guard, its one child, then the next sh)
    const [first, second] = inNewPidNamespace(
      `"$GUARD" --advance-pids ${PID_FLOOR}; sh -c 'echo $$'; "$GUARD" --advance-pids ${PID_FLOOR}; sh -c 'echo $$'`,
      guard,
    )
      .split('\n')
      .map(Number) as [number, number];
    expect(second - first).toBe(3);
  });

  it('crac-guard --advance-pids refuses what is not a pid', () => {
    const guard = requireNativeProgram('guard');
    for (const bad of ['x', '0', '-5', '4194305', '12abc']) {
      const run = spawnSync(guard, ['--advance-pids', bad], { encoding: 'utf8' });
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(`--advance-pids takes a pid from 1 to 4194304, not '${bad}'`);
    }
  });

  it('runs nothing where the counter is past the floor, and warns when it cannot move it', () => {
    expect(lastPid()).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), 'crac-pid-floor-'));
    dirs.push(dir);
    const broken = join(dir, 'guard');
    writeFileSync(broken, '#!/bin/sh\necho "crac-guard: --advance-pids: fork: Resource temporarily unavailable" >&2\nexit 126\n');
    chmodSync(broken, 0o755);
    expect(raisePidCounter(broken, PID_FLOOR + 1)).toBeUndefined();
    expect(raisePidCounter(broken, 5)).toBe(
      `the app may get a pid below ${PID_FLOOR} (crac-guard: --advance-pids: fork: Resource temporarily unavailable): ` +
        'a restore of its image in a container may find its pids taken',
    );
    expect(raisePidCounter(requireNativeProgram('guard'), 5)).toBeUndefined();
  });
});
