// The examples the demo and the benchmark run: those with a demo.json (how to start, warm up and
// probe them, the servers they need).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths } from './paths.mjs';

/** An example's directory. */
export function exampleDir(name) {
  return join(paths.examples, name);
}

/** The examples with a demo.json; only those named in `only` (comma-separated) when it is given. */
export function exampleNames(only = '') {
  return readdirSync(paths.examples).filter(
    (name) => existsSync(join(exampleDir(name), 'demo.json')) && (!only || only.split(',').includes(name)),
  );
}

/** An example's demo.json. */
export function exampleConfig(name) {
  return JSON.parse(readFileSync(join(exampleDir(name), 'demo.json'), 'utf8'));
}
