import { CracError, CRIU_FIX, CRIU_PATH_ENV, DEFAULT_CRIU_PATH, ErrorCode, findCriu } from '@crac/core/protocol';
import { distributionCriu } from './distribution.js';
import { setupCriuScript } from './package-files.js';
import type { SetupStep } from './step.js';

/** Where setup-criu.sh installs CRIU: `CRAC_CRIU_INSTALL_DIR` (the script's variable), else the default. */
function installPath(env: NodeJS.ProcessEnv): string {
  const dir = env.CRAC_CRIU_INSTALL_DIR?.replace(/\/+$/, '');
  return dir ? `${dir}/criu` : DEFAULT_CRIU_PATH;
}

const FROM = { env: ` (${CRIU_PATH_ENV})`, default: '', path: " (the system's)" } as const;

/**
 * CRIU 4.2 or newer: one already there (`CRAC_CRIU_PATH`, the default path, PATH), else the
 * distribution's package when it is new enough, else built from the distribution's source
 * package by scripts/setup-criu.sh (about 30 s, and the build dependencies from apt).
 */
export function criuStep(env: NodeJS.ProcessEnv = process.env): SetupStep {
  return {
    name: 'criu',
    needsRoot: true,
    inspect() {
      try {
        const criu = findCriu(env, { defaultPath: installPath(env) });
        return { ready: true, detail: `CRIU ${criu.version} at ${criu.path}${FROM[criu.from]}` };
      } catch (error) {
        return { ready: false, missing: (error as Error).message.replace(`: ${CRIU_FIX}`, '') };
      }
    },
    async provide(progress) {
      if (env[CRIU_PATH_ENV]) {
        // the user chose that one: installing another would not change what crac runs
        throw new CracError(
          ErrorCode.SETUP,
          `${CRIU_PATH_ENV}=${env[CRIU_PATH_ENV]} is not a usable CRIU 4.2+: point it at one, or unset it and run \`npx crac setup\` again to install one`,
        );
      }
      const packaged = distributionCriu();
      if (packaged?.usable) {
        await progress.run(`installing the distribution's criu ${packaged.version}`, packaged.install[0], packaged.install.slice(1));
        return `installed the distribution's criu ${packaged.version}`;
      }
      if (packaged) progress.step('criu', `the distribution's criu is ${packaged.version}, too old: building 4.2+ from its source package`);
      const stdout = await progress.run("building CRIU from the distribution's source (about a minute)", 'bash', [setupCriuScript()], {
        env,
      });
      const path = stdout.trim().split('\n').pop() ?? '';
      return path === DEFAULT_CRIU_PATH ? `built it at ${path}` : `built it at ${path}; set ${CRIU_PATH_ENV}=${path} for crac to use it`;
    },
  };
}
