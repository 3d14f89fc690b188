/**
 * The fuzz campaign of the control socket's TypeScript readers (`pnpm fuzz`, scripts/fuzz.mjs,
 * bundles this file; the unit suite runs a short round, control-socket-fuzz.test.ts): every seed
 * first (seeds/<target>/, real request and reply lines and the regression inputs of the bugs it
 * found), then mutants of the corpus, until a number of executions or a time budget. An input
 * whose behaviour (the word its target returns) was not seen before joins the corpus.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CracError, ErrorCode } from '../../errors.js';
import { controlLinesTarget } from './lines-target.js';
import { mutate } from './mutate.js';
import { Random } from './random.js';
import { controlReplyTarget } from './reply-target.js';
import { controlRequestTarget } from './request-target.js';
import { triggerServerTarget } from './server-target.js';
import type { FuzzTarget } from './target.js';

/** The targets, by the name `--only=` takes. */
export const CONTROL_TARGETS = ['control_request', 'control_reply', 'control_lines', 'trigger_server'] as const;

export type ControlTargetName = (typeof CONTROL_TARGETS)[number];

/** Options of {@link runCampaign}: `runs` or `seconds`. */
export interface CampaignOptions {
  /** How many executions, seeds included. */
  runs?: number;
  /** Or how long, in seconds. */
  seconds?: number;
  /** The seed of the mutations: the same seed makes the same campaign. Default 1. */
  seed?: number;
  /** The seeds folder (one folder a target in it). */
  seedsDir: string;
  /** The bundle of server-child.ts (JavaScript node runs): trigger_server needs it. */
  serverChild?: string;
}

/** How a campaign went. */
export interface CampaignResult {
  target: ControlTargetName;
  executions: number;
  seconds: number;
  /** Inputs mutated from at the end: the seeds and what joined them. */
  corpus: number;
  /** The input that crashed the target, and the error: the campaign stops at the first. */
  failure?: { input: Buffer; error: unknown };
}

/** Mutants that showed a new behaviour are kept up to this many... */
const MAX_CORPUS = 4096;
/** ...and when this small: the heavy mutations make large inputs often enough, mutating them again would make most inputs large and slow. */
const MAX_CORPUS_INPUT = 4096;

/**
 * Runs target `name` on its seeds, then on mutants, until `runs` executions or `seconds` seconds.
 * @throws {@link CracError} `CRAC_EINVAL` for an unknown target, no seeds, or neither bound.
 */
export async function runCampaign(name: ControlTargetName, options: CampaignOptions): Promise<CampaignResult> {
  const { runs, seconds, seed = 1 } = options;
  if (runs === undefined && seconds === undefined) throw new CracError(ErrorCode.INVALID_ARGUMENT, 'a campaign needs runs or seconds');
  const seeds = readSeeds(join(options.seedsDir, name));
  const corpus = seeds.map((input) => input.toString('latin1'));
  const random = new Random(seed);
  const seen = new Set<string>();
  const target = await openTarget(name, options);
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  // the clock is read every 256 executions: it costs more than most of them
  const done = (executions: number) =>
    runs !== undefined ? executions >= runs : executions % 256 === 0 && elapsed() >= (seconds as number);
  let executions = 0;
  try {
    while (!done(executions)) {
      const input =
        executions < seeds.length
          ? (seeds[executions] as Buffer)
          : Buffer.from(mutate(random.pick(corpus), random, corpus, target.maxInputLength), 'latin1');
      executions++;
      let word: string;
      try {
        const outcome = target.execute(input);
        word = typeof outcome === 'string' ? outcome : await outcome;
      } catch (error) {
        return { target: name, executions, seconds: elapsed(), corpus: corpus.length, failure: { input, error } };
      }
      if (!seen.has(word)) {
        seen.add(word);
        if (executions > seeds.length && corpus.length < MAX_CORPUS && input.length <= MAX_CORPUS_INPUT)
          corpus.push(input.toString('latin1'));
      }
    }
    return { target: name, executions, seconds: elapsed(), corpus: corpus.length };
  } finally {
    await target.close?.();
  }
}

function openTarget(name: ControlTargetName, options: CampaignOptions): FuzzTarget | Promise<FuzzTarget> {
  switch (name) {
    case 'control_request':
      return controlRequestTarget();
    case 'control_reply':
      return controlReplyTarget();
    case 'control_lines':
      return controlLinesTarget();
    case 'trigger_server':
      if (!options.serverChild) throw new CracError(ErrorCode.INVALID_ARGUMENT, 'trigger_server needs the bundle of server-child.ts');
      return triggerServerTarget(options.serverChild);
    default:
      throw new CracError(ErrorCode.INVALID_ARGUMENT, `no fuzz target ${String(name)} (the targets: ${CONTROL_TARGETS.join(', ')})`);
  }
}

/** The seed inputs of a target, in the order of their names. */
function readSeeds(dir: string): Buffer[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (cause) {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, `no seeds folder ${dir}`, { cause });
  }
  if (names.length === 0) throw new CracError(ErrorCode.INVALID_ARGUMENT, `no seeds in ${dir}`);
  return names.map((file) => readFileSync(join(dir, file)));
}
