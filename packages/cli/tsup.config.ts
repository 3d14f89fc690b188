import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

// No types: nothing imports the CLI. The command is ESM; the preload is CommonJS, for `--require`.
// Two builds in one dist/: neither cleans it (the build script does, first).
const build = { ...packageBuild, dts: false, clean: false };
export default defineConfig([
  { ...build, entry: ['src/cli.ts'], format: ['esm'] },
  { ...build, entry: ['src/register.ts'], format: ['cjs'] },
]);
