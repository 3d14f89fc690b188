// The seal step of a checkpoint, run by hooks/seal-after-dump.sh at CRIU's post-dump while the
// dumped process is frozen (see seal-hook.ts): seals the staged image CRIU just wrote, then puts
// it in place of the image directory. A non-zero exit fails the dump; what it prints on stderr
// goes into CRIU's log, where the dump reads it (its `crac: ` lines).
import { lstatSync, statSync } from 'node:fs';
import { loadNative } from '../engine/criu/native.js';
import { sealImage } from './seal.js';
import { publishStagedImage } from './staging.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: this program is CRIU's post-dump action script, not a command`);
  return value;
}

function sealAndPublish(): void {
  // the staging directory through the dumped process's descriptor: /proc/<app>/fd/<n>
  const written = required('CRAC_SEAL_DIR');
  const staging = required('CRAC_SEAL_STAGING');
  const target = required('CRAC_SEAL_TARGET');
  const a = statSync(written);
  const b = lstatSync(staging);
  if (a.dev !== b.dev || a.ino !== b.ino) throw new Error(`${staging} is not the directory the image was written in`);
  sealImage(written);
  publishStagedImage(staging, target, (from, to) => loadNative().exchangePaths(from, to));
}

try {
  sealAndPublish();
} catch (error) {
  console.error(`crac: sealing the image failed: ${(error as Error).message}`);
  process.exit(1);
}
