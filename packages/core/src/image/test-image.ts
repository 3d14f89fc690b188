import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Manifest, writeManifest } from './manifest.js';

/**
 * For the image tests: a small image in `dir` (an existing 0700 directory), as a dump leaves it
 * before the seal: a manifest, a 100 kB pages file and a process tree.
 */
export function writeTestImage(dir: string): void {
  const manifest: Manifest = {
    format: 2,
    createdAt: new Date().toISOString(),
    pid: 1,
    ids: [1],
    node: { version: process.version, execPath: process.execPath },
    criu: { path: '/criu', version: '4.2.1' },
    imagesDir: dir,
    stdio: [],
  };
  writeManifest(dir, manifest);
  writeFileSync(join(dir, 'pages-1.img'), Buffer.alloc(100_000, 7), { mode: 0o600 });
  writeFileSync(join(dir, 'pstree.img'), 'tree', { mode: 0o600 });
}
