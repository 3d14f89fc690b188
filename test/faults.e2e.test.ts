// A short round of the fault campaign (scripts/kill-trials.mjs, `pnpm faults` runs 200 trials of
// each kind): SIGKILL to crac checkpoint, to the app and to CRIU during a checkpoint, to crac restore, its supervisor
// and the restored app during a restore; nothing may be left behind, the image must still verify
// and restore.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { paths } from '@crac/tools/paths';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost } from './helpers/harness.js';

beforeAll(() => assertRealCriuHost());

describe('SIGKILL at a random moment of a checkpoint or a restore', () => {
  it('leaves no process, staging directory, mount or bound port behind, and the image still verifies and restores', {
    timeout: 600_000,
  }, () => {
    const run = spawnSync(
      process.execPath,
      [join(paths.root, 'scripts', 'kill-trials.mjs'), '--trials=3', '--only=checkpoint,app,criu,restorer,supervisor,restored'],
      { encoding: 'utf8' },
    );
    expect(run.status, `${run.stdout}\n${run.stderr.slice(-6000)}`).toBe(0);
    for (const kind of ['checkpoint', 'app', 'criu', 'restorer', 'supervisor', 'restored']) {
      expect(run.stdout).toMatch(new RegExp(`\\| ${kind} \\| 3 \\| \\d \\| 0 \\| 0 \\| 0 \\| 0 \\| 0 \\| 0 of 1 \\|`));
    }
  });
});
