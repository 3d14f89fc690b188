// For tests that run TypeScript of this package in a process of its own (test files only).
import { build } from 'esbuild';

/** Bundles `entryPoints` (name -> .ts file) into `outdir` as `<name>.mjs`, from the sources (their own export condition). */
export async function bundleForNode(entryPoints: Record<string, string>, outdir: string): Promise<void> {
  await build({
    entryPoints,
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@crac/source'],
    packages: 'external',
    logLevel: 'error',
  });
}
