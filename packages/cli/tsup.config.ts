import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

// One executable entry, ESM only, no types: nothing imports the CLI.
export default defineConfig({ ...packageBuild, entry: ['src/cli.ts'], format: ['esm'], dts: false });
