import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CracError, ErrorCode } from '../errors.js';
import { packageRoot } from '../protocol/programs.js';
import { SEAL_HOOK_FILES } from './layout.js';

const [CONFIG_FILE, SCRIPT_FILE] = SEAL_HOOK_FILES;

/** The code the hook runs in a fresh node: `sealImage()` of the bundled package, a one-line error otherwise. */
const SEAL_CODE =
  'try{require(process.argv[1]).sealImage(process.argv[2])}catch(e){console.error("crac: sealing the image failed: "+e.message);process.exit(1)}';

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Puts beside a dump a CRIU configuration file whose `action-script` seals the image at
 * `post-dump`: after CRIU wrote every file, while the dumped process is still frozen, whatever
 * asked for the dump (the CLI, the API, a leave-running dump). If sealing fails, CRIU fails the
 * dump and the process runs on. The hook (`sh`, then this node binary, about 60 ms to start
 * here, plus the hashing) removes both files before it seals. Returns the configuration file,
 * for the `configFile` option of the native checkpoint (CRIU RPC `config_file`).
 * @throws {@link CracError} `CRAC_EENGINE` when the bundled package (dist/image.cjs) is missing.
 */
export function prepareSealHook(imagesDir: string, node: string = process.execPath): string {
  const entry = join(packageRoot(), 'dist', 'image.cjs');
  if (!existsSync(entry)) {
    throw new CracError(ErrorCode.ENGINE_UNAVAILABLE, `cannot seal images: ${entry} is not built (run \`pnpm build\`)`);
  }
  if (/["\\\n]/.test(imagesDir)) {
    // CRIU's configuration parser takes "quoted words" but escapes only quotes, imperfectly.
    throw new CracError(
      ErrorCode.INVALID_ARGUMENT,
      `the image directory must not contain ", \\ or a newline: ${JSON.stringify(imagesDir)}`,
    );
  }
  const script = join(imagesDir, SCRIPT_FILE);
  const config = join(imagesDir, CONFIG_FILE);
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      '# crac-node: seals the image after the dump (CRIU post-dump action script); removes itself.',
      '[ "$CRTOOLS_SCRIPT_ACTION" = post-dump ] || exit 0',
      // the app's own NODE_OPTIONS (crac's preloaded trigger, an inspector...) are not the sealer's
      'unset NODE_OPTIONS',
      `exec ${[node, '--no-warnings', '-e', SEAL_CODE, entry, imagesDir].map(shellQuote).join(' ')}`,
      '',
    ].join('\n'),
    { mode: 0o700 },
  );
  writeFileSync(config, `action-script "${script}"\n`, { mode: 0o600 });
  return config;
}

/** Removes the hook's files (after a failed dump: a successful one has removed them). */
export function removeSealHook(imagesDir: string): void {
  for (const name of SEAL_HOOK_FILES) rmSync(join(imagesDir, name), { force: true });
}
