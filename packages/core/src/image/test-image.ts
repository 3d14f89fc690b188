import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listenSlotFile } from './layout.js';
import { type ListenerRecord, type Manifest, writeManifest } from './manifest.js';

/**
 * For the image tests: a small image in `dir` (an existing 0700 directory), as a dump leaves it
 * before the seal: a manifest, a 100 kB pages file and a process tree. With `listeners`, a
 * format 3 image: a handoff file and one empty slot file per listener, whose `slot` is set here.
 */
export function writeTestImage(dir: string, listeners?: Omit<ListenerRecord, 'slot'>[]): void {
  const manifest: Manifest = {
    format: listeners ? 3 : 2,
    createdAt: new Date().toISOString(),
    pid: 1,
    ids: [1],
    node: { version: process.version, execPath: process.execPath },
    criu: { path: '/criu', version: '4.2.1' },
    imagesDir: dir,
    stdio: [],
  };
  if (listeners) {
    manifest.handoff = join(dir, 'crac-handoff');
    writeFileSync(manifest.handoff, '', { mode: 0o600 });
    manifest.listeners = listeners.map((listener, index) => {
      const slot = join(dir, listenSlotFile(index));
      writeFileSync(slot, '', { mode: 0o600 });
      return { ...listener, slot };
    });
  }
  writeManifest(dir, manifest);
  writeFileSync(join(dir, 'pages-1.img'), Buffer.alloc(100_000, 7), { mode: 0o600 });
  writeFileSync(join(dir, 'pstree.img'), 'tree', { mode: 0o600 });
}
