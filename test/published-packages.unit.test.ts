import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { paths } from '@crac/tools/paths';

// What `npm publish` would put in each package's tarball (a unit suite: `npm pack --dry-run`
// lists the files without writing anything). The built files are there after `pnpm bootstrap`,
// which the unit suites need anyway (package-import.test.ts).

interface PackageJson {
  name: string;
  private?: boolean;
  main?: string;
  types?: string;
  bin?: string | Record<string, string>;
  exports?: unknown;
}

const packagesDir = join(paths.root, 'packages');
const published = readdirSync(packagesDir)
  .map((name) => join(packagesDir, name))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, json: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson }))
  .filter(({ json }) => !json.private);

/** Test files and test helpers: never published. */
const NOT_PUBLISHED = [/\.test\./, /\.bench\./, /(^|\/)test-image\./, /(^|\/)__tests__\//, /(^|\/)fixtures?\//, /(^|\/)fuzz\//];

/** Every file a package.json points at: main, types, bin, and each condition of each export. */
function entryFiles(json: PackageJson): string[] {
  const found: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') found.push(value);
    else if (value && typeof value === 'object') for (const inner of Object.values(value)) walk(inner);
  };
  walk([json.main, json.types, json.bin, json.exports]);
  return [...new Set(found.map((file) => file.replace(/^\.\//, '')))];
}

async function packedFiles(dir: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir,
    encoding: 'utf8',
  });
  const [report] = JSON.parse(stdout) as [{ files: { path: string }[] }];
  return report.files.map(({ path }) => path);
}

describe('the published tarballs', () => {
  it('are every package under packages/ that is not private', () => {
    expect(published.map(({ json }) => json.name)).toContain('@crac/core');
    expect(published.length).toBeGreaterThanOrEqual(8);
  });

  const packs = new Map(published.map(({ dir }) => [dir, packedFiles(dir)]));

  for (const { dir, json } of published) {
    it(`${json.name}: holds no test, bench or test helper, and every entry point package.json names`, async () => {
      const files = await (packs.get(dir) as Promise<string[]>);
      expect(files).toContain('package.json');
      expect(files.filter((file) => NOT_PUBLISHED.some((pattern) => pattern.test(file)))).toEqual([]);
      const missing = entryFiles(json).filter((file) => !files.includes(file));
      expect(missing, `missing from ${json.name}'s tarball (run \`pnpm bootstrap\` to build it)`).toEqual([]);
    }, 60_000);
  }
});
