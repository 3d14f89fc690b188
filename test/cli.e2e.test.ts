import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, run, start, testDir } from './helpers/harness.js';
import { commandOf, treeOf, waitUntilGone } from './helpers/process-tree.js';

const APP = join(FIXTURES, 'lifecycle-app.cjs');
beforeAll(() => assertRealCriuHost());
const dir = () => testDir();
async function cli(args: string[]) {
  const started = crac(args, { stdout: 'pipe' });
  const { code } = await started.exited;
  return { code, output: started.output(), events: started.events() };
}

describe('crac: usage and refusals', () => {
  it('prints help for every command', async () => {
    for (const command of [[], ['checkpoint'], ['restore'], ['check'], ['setup']]) {
      const { code, output } = await cli([...command, '--help']);
      expect(code).toBe(0);
      expect(output).toMatch(/Usage: crac/);
    }
  });

  it('exits 2 on a bad command line, naming what is wrong', async () => {
    expect(await cli(['checkpoint'])).toMatchObject({
      code: 2,
      output: expect.stringContaining('[CRAC_EINVAL] crac checkpoint needs --to DIR'),
    });
    expect(await cli(['checkpoint', '--to', dir()])).toMatchObject({
      code: 2,
      output: expect.stringContaining('needs the command to start'),
    });
    expect(await cli(['checkpoint', '--pid', 'abc'])).toMatchObject({ code: 2, output: expect.stringContaining('positive integer') });
    expect(await cli(['restore'])).toMatchObject({ code: 2, output: expect.stringContaining("missing required argument 'dir'") });
    expect(await cli(['restore', dir(), '--pid-namespace', 'sometimes'])).toMatchObject({ code: 2 });
    expect(await cli(['frobnicate'])).toMatchObject({ code: 2, output: expect.stringContaining("unknown command 'frobnicate'") });
  });

  it('says why it cannot ask a process to checkpoint', async () => {
    expect(await cli(['checkpoint', '--pid', '4194000'])).toMatchObject({
      code: 1,
      output: expect.stringContaining('[CRAC_ETRIGGER] no process 4194000'),
    });
    const plain = start(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)'], { stdout: 'pipe' });
    const refused = await cli(['checkpoint', '--pid', String(plain.child.pid)]);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('does not accept checkpoint requests');
    expect(refused.output).toContain('--require @crac/core/register');
  });

  it('ends at once when the app dies before it can be asked to checkpoint', async () => {
    // the trigger's socket never listens: the CLI used to poll for it forever
    const started = Date.now();
    const died = await cli([
      'checkpoint',
      '--to',
      join(dir(), 'image'),
      '--warmup',
      'true',
      '--',
      // no Node, no trigger: a Node app that exits at once may still have listened for a moment
      '/bin/sh',
      '-c',
      'exit 3',
    ]);
    expect(died.code).toBe(1);
    expect(died.output).toContain('[CRAC_ECHECKPOINT] the app exited before it was ready to checkpoint');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses to restore what is not an image, or an image others can write, and starts nothing', async () => {
    const missing = await cli(['restore', join(dir(), 'nothing-here')]);
    expect(missing.code).toBe(125);
    expect(missing.output).toContain('[CRAC_EIMAGE]');

    const shared = dir();
    writeFileSync(join(shared, 'crac-manifest.json'), JSON.stringify({ format: 1, pid: 1, ids: [1], stdio: [], imagesDir: shared }));
    chmodSync(shared, 0o777);
    const unsafe = await cli(['restore', shared]);
    expect(unsafe.code).toBe(125);
    expect(unsafe.output).toContain('writable by others');

    const damaged = dir();
    writeFileSync(join(damaged, 'crac-manifest.json'), '{ not json');
    expect(await cli(['restore', damaged])).toMatchObject({ code: 125, output: expect.stringContaining('is damaged') });
  });

  it("refuses an incomplete image, and reports CRIU's own error lines when CRIU fails", async () => {
    const image = join(dir(), 'image');
    const checkpoint = await cli(['checkpoint', '--to', image, '--warmup', 'true', '--', process.execPath, APP]);
    expect(checkpoint.code, checkpoint.output).toBe(0);
    rmSync(join(image, 'pstree.img'));
    expect(await cli(['restore', image])).toMatchObject({ code: 125, output: expect.stringContaining('[CRAC_EIMAGE]') });
    expect((await cli(['restore', image])).output).toContain('pstree.img missing');

    // an intact image CRIU cannot restore: the app's working directory is gone (a damaged image
    // is refused before CRIU runs: see image.e2e.test.ts)
    const other = join(dir(), 'image');
    const cwd = join(dir(), 'cwd');
    mkdirSync(cwd);
    const made = crac(['checkpoint', '--to', other, '--warmup', 'true', '--', process.execPath, APP], { stdout: 'pipe', cwd });
    expect((await made.exited).code).toBe(0);
    rmSync(cwd, { recursive: true });
    const restore = await cli(['restore', other]);
    expect(restore.code).toBe(125);
    expect(restore.output).toContain('[CRAC_ECRIU_RESTORE]');
    expect(restore.output).toMatch(/Error \(/);
  });

  it('stops the app and makes no image when the warm-up command fails', async () => {
    const image = join(dir(), 'image');
    const result = await cli(['checkpoint', '--to', image, '--warmup', 'exit 3', '--', process.execPath, APP]);
    expect(result.code).toBe(1);
    expect(result.output).toContain('the warm-up command failed (exit code 3)');
    expect(result.events.find((e) => e.event === 'before-checkpoint')).toBeUndefined();
  });

  it('reports a refused checkpoint after warm-up, stops the app, and makes no image', async () => {
    const image = join(dir(), 'image');
    const started = crac(['checkpoint', '--to', image, '--warmup', 'sleep 0.3', '--', process.execPath, APP], {
      stdout: 'pipe',
      env: { FIXTURE_HOOK: 'throw' },
    });
    expect((await started.exited).code).toBe(1);
    expect(started.output()).toContain('[CRAC_ECHECKPOINT]');
    expect(started.output()).toContain('not now, I am busy');
    expect(started.output()).toContain('stopping the app');
    expect(started.events()).toContainEqual(expect.objectContaining({ event: 'rolled-back' }));
    expect(started.events()).toContainEqual(expect.objectContaining({ event: 'sigterm' }));
  });

  it('SIGKILLed during the warm-up: neither the app nor the warm-up outlives it', async () => {
    const warming = join(dir(), 'warming');
    const started = crac(
      ['checkpoint', '--to', join(dir(), 'image'), '--warmup', `touch ${warming}; sleep 60`, '--', process.execPath, APP],
      {
        stdout: 'pipe',
      },
    );
    for (let i = 0; i < 300 && !existsSync(warming); i++) await sleep(50);
    expect(existsSync(warming), started.output()).toBe(true);
    // crac checkpoint itself: the node process of cli.js under the harness's shell; what it started is below it
    const cli = treeOf(started.child.pid as number).find((pid) =>
      readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[1]?.endsWith('cli.js'),
    ) as number;
    const descendants = treeOf(cli).slice(1);
    expect(descendants.map(commandOf), 'the app, the warm-up and its sleep').toEqual(
      expect.arrayContaining([expect.stringContaining(APP), expect.stringContaining('sleep 60')]),
    );
    process.kill(cli, 'SIGKILL');
    expect(await waitUntilGone(descendants), started.output()).toEqual([]);
    expect(started.output()).toMatch(/crac checkpoint ended before what it started: stopping/);
  });

  it('crac check says whether this host can checkpoint, as text and as JSON', async () => {
    const text = await cli(['check']);
    expect(text.code).toBe(0);
    expect(text.output).toMatch(/ok\s+criu\s+4\.\d+/);
    const json = await cli(['check', '--json']);
    const [report] = json.events as [{ ok: boolean; checks: { name: string; ok: boolean }[] }];
    expect(report.ok).toBe(true);
    expect(report.checks.map((check) => check.name)).toEqual(
      expect.arrayContaining(['criu', 'criu check', 'native bridge', 'io_uring guard']),
    );
  });

  it('crac check fails with the fix when CRIU is missing', async () => {
    const missing = join(dir(), 'no-criu');
    mkdirSync(missing);
    const started = crac(['check'], { stdout: 'pipe', env: { CRAC_CRIU_PATH: join(missing, 'criu') } });
    expect((await started.exited).code).toBe(1);
    expect(started.output()).toMatch(/FAIL criu .*no executable CRIU/);
    expect(started.output()).toContain('npx crac setup');
  });
});

describe('the criu engine without the CLI', () => {
  it('refuses a checkpoint with no image directory, and the app runs on', async () => {
    const result = await run(process.execPath, [APP], { env: { FIXTURE_TRIGGER: 'api', CRAC_ENGINE: 'criu', CRAC_IMAGES_DIR: '' } });
    expect(result.code).toBe(0);
    expect(result.events).toContainEqual(
      expect.objectContaining({ event: 'checkpoint-error', code: 'CRAC_ECHECKPOINT', message: expect.stringContaining('image directory') }),
    );
    expect(result.events).toContainEqual(expect.objectContaining({ event: 'summary', stateIntact: true }));
  });
});
