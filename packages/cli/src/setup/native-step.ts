import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import {
  CracError,
  ErrorCode,
  findNativeProgram,
  missingNativeAdvice,
  NATIVE_PROGRAMS,
  type NativeProgram,
  nativeBuildScript,
} from '@crac/core/protocol';
import type { SetupStep } from './step.js';

const programs = Object.keys(NATIVE_PROGRAMS) as NativeProgram[];

/**
 * The native programs of @crac/core: normally installed already, prebuilt, with the platform
 * package (`@crac/core-linux-x64-gnu`); where there is none, built from the sources @crac/core
 * ships, with the host's C compiler, into its native/build (no root: that is the app's node_modules).
 */
export function nativeStep(): SetupStep {
  return {
    name: 'native programs',
    needsRoot: false,
    inspect() {
      const found = programs.map((program) => ({ program, location: findNativeProgram(program) }));
      const missing = found.filter(({ location }) => !location).map(({ program }) => NATIVE_PROGRAMS[program].file);
      if (missing.length > 0) return { ready: false, missing: missing.join(', ') };
      const { location } = found[0] as { location: { path: string; source: 'prebuilt' | 'built' } };
      return { ready: true, detail: `${location.source === 'prebuilt' ? 'prebuilt' : 'built from source'}, in ${dirname(location.path)}` };
    },
    async provide(progress) {
      const cc = process.env.CC || 'cc';
      if (spawnSync(cc, ['--version']).status !== 0) {
        throw new CracError(ErrorCode.SETUP, `no C compiler (\`${cc}\`) to build them: ${missingNativeAdvice()}`);
      }
      await progress.run('building the native programs from source', process.execPath, [nativeBuildScript()]);
      return 'built them from source';
    },
  };
}
