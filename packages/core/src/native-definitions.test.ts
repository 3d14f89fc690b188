// The C headers native/definitions.mjs generates from the TypeScript that owns each definition.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script, no types
import { generatedHeaders, readConstants } from '../native/definitions.mjs';
import { CRIU_GROUP, UNPRIVILEGED_CRIU_CAPABILITIES } from './engine/criu/capabilities.js';
import { NATIVE_PROGRAMS } from './protocol/programs.js';
import { DEFAULT_CRIU_PATH, SBIN_DIRS } from './engine/criu/binary.js';
import { ErrorCode } from './errors.js';
import { HANDOFF_FD, IMAGES_DIR_FD, MANIFEST_FILE, REQUIRED_CRIU_FILES, UNSEALED_FILES } from './image/layout.js';
import { ExitCode } from './protocol/exit-codes.js';
import { FORWARDED_SIGNALS } from './protocol/signals.js';

const coreDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'crac-definitions-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the generated C definitions', () => {
  const headers = generatedHeaders(coreDir) as Record<string, string>;

  it('define every error code, exit code, file name, descriptor and signal as the TypeScript does', () => {
    for (const code of Object.values(ErrorCode)) expect(headers['crac/codes.h']).toContain(`#define ${code} "${code}"\n`);
    for (const [name, code] of Object.entries(ExitCode)) expect(headers['crac/exit_codes.h']).toContain(`#define EXIT_${name} ${code}\n`);
    const layout = headers['crac/layout.h'];
    expect(layout).toContain(`#define MANIFEST_FILE "${MANIFEST_FILE}"\n`);
    expect(layout).toContain(`#define IMAGES_DIR_FD ${IMAGES_DIR_FD}\n`);
    expect(layout).toContain(`#define HANDOFF_FD ${HANDOFF_FD}\n`);
    expect(layout).toContain(`#define UNSEALED_FILES { ${[...UNSEALED_FILES].map((f) => `"${f}"`).join(', ')} }\n`);
    expect(layout).toContain(`#define REQUIRED_CRIU_FILES { ${REQUIRED_CRIU_FILES.map((f) => `"${f}"`).join(', ')} }\n`);
    expect(headers['crac/signals.h']).toContain(`#define FORWARDED_SIGNALS { ${FORWARDED_SIGNALS.join(', ')} }\n`);
    expect(headers['crac/criu.h']).toContain(`#define DEFAULT_CRIU_PATH "${DEFAULT_CRIU_PATH}"\n`);
    expect(headers['crac/criu.h']).toContain(`#define SBIN_DIRS { ${SBIN_DIRS.map((d) => `"${d}"`).join(', ')} }\n`);
    const needed = UNPRIVILEGED_CRIU_CAPABILITIES.map(({ name, bit }) => `{ "${name}", ${bit} }`).join(', ');
    expect(headers['crac/capabilities.h']).toContain(`{ ${needed} }`);
    expect(headers['crac/capabilities.h']).toContain(`#define CRIU_GROUP "${CRIU_GROUP}"`);
    for (const [name, { file }] of Object.entries(NATIVE_PROGRAMS))
      expect(headers['crac/programs.h']).toContain(`#define ${name.toUpperCase()}_PROGRAM "${file}"\n`);
  });

  it('fails, naming the definition, when one is not a literal it can read', () => {
    const source = join(work, 'odd.ts');
    writeFileSync(source, "export const A = 'a';\nexport const B = compute();\nexport const C = [A, 'c'] as const;\n");
    expect(readConstants(source, ['A', 'C'])).toEqual({ A: 'a', C: ['a', 'c'] });
    expect(() => readConstants(source, ['A', 'B'])).toThrow(/no literal definition of B/);
    expect(() => readConstants(source, ['D'])).toThrow(/no literal definition of D/);
  });
});
