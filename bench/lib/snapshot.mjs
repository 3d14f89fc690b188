// Node's own startup snapshot as a baseline: the example's snapshot entry (demo.json `snapshot`)
// bundled to one CommonJS file, as `--build-snapshot` requires, then built into a blob by the
// Node that will start from it.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';
import { launch } from '../../tools/lifecycle.mjs';

/** Builds the example's startup snapshot blob with `node`; returns its path and how long it took. */
export async function buildStartupSnapshot({ node, example }) {
  const bundle = join(example.work, `${example.name}-snapshot.cjs`);
  const blob = join(example.work, `${example.name}-snapshot.blob`);
  const started = performance.now();
  await build({
    entryPoints: [join(example.dir, example.config.snapshot)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: bundle,
    // a snapshot has no dynamic import(): make it a require()
    supported: { 'dynamic-import': false },
    logLevel: 'error',
  });
  const builder = launch(node, ['--snapshot-blob', blob, '--build-snapshot', bundle], { cwd: example.dir, env: example.base });
  const { code, signal } = await builder.exited;
  if (code !== 0) {
    throw new Error(`${example.name}: building the startup snapshot failed (${signal ?? `exit code ${code}`}): ${builder.output()}`);
  }
  return { blob, buildMs: performance.now() - started };
}
