import type { Options } from 'tsup';

/** What every @crac/* package builds: ESM and CommonJS for Node 20+, with types. */
export const packageBuild: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
};
