// A short round of the control socket's fuzz targets (campaign.ts; `pnpm fuzz` runs the
// campaign): every seed and regression input, then mutants, with a fixed seed: the same inputs
// each run, so a regression fails here rather than by chance.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForNode } from '../../test-bundle.js';
import { type CampaignResult, type ControlTargetName, runCampaign } from './campaign.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..', '..', '..');
const seedsDir = join(here, 'seeds');
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'crac-fuzz-test-'));
  // trigger_server runs the server in a process of its own, from a bundle of its sources (as scripts/fuzz.mjs does)
  await bundleForNode({ 'server-child': join(here, 'server-child.ts') }, work);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The failure, legible: the error and the input that made it. */
function failureOf(result: CampaignResult): string | undefined {
  if (!result.failure) return undefined;
  const { input, error } = result.failure;
  return `${(error as Error)?.stack ?? error}\ninput: ${JSON.stringify(input.subarray(0, 400).toString('utf8'))}`;
}

describe('the control socket readers under the fuzzer', () => {
  const rounds: [ControlTargetName, number][] = [
    ['control_request', 20_000],
    ['control_reply', 20_000],
    ['control_lines', 20_000],
    // two connections an execution
    ['trigger_server', 500],
  ];
  for (const [target, runs] of rounds) {
    it(`${target}: survives its seeds, its regression inputs and ${runs} executions`, { timeout: 60_000 }, async () => {
      const result = await runCampaign(target, { runs, seed: 1, seedsDir, serverChild: join(work, 'server-child.mjs') });
      expect(failureOf(result)).toBeUndefined();
      expect(result.executions).toBe(runs);
    });
  }

  it('are run by `pnpm fuzz` (scripts/fuzz.mjs), one line a target', { timeout: 60_000 }, () => {
    const run = spawnSync(process.execPath, [join(root, 'scripts', 'fuzz.mjs'), '--only=control_request,control_reply', '--runs=1000'], {
      encoding: 'utf8',
    });
    expect(run.status, `${run.stdout}${run.stderr.slice(-4000)}`).toBe(0);
    expect(run.stdout).toMatch(/^fuzz: control_request: 1000 executions in [\d.]+ s \(\d+\/s\), corpus \d+, no crash$/m);
    expect(run.stdout).toMatch(/^fuzz: control_reply: 1000 executions in [\d.]+ s \(\d+\/s\), corpus \d+, no crash$/m);
  });
});
