// podman as this project's machines need it (measured, /work/shared/docs/platform.md): runc, not
// crun (crun refuses hybrid cgroups), rlimits at or below the hard limits, the host's network,
// and CRIU 4.2 given to runc with its global `--criu` option (Debian's criu 3.17 on PATH fails on
// these kernels). podman itself checks, before a checkpoint or a restore, that a `criu` on its
// PATH is at least 3.11: with none there (a host without Debian's criu), it refuses, so CRIU 4.2's
// directory goes first on podman's PATH. One place says so: the e2e suite, the demo and the docs'
// recipe use these flags.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { paths } from './paths.mjs';

/** podman's default seccomp profile (containers-common), which the restoring containers' profile extends. */
export const DEFAULT_SECCOMP_PROFILE = '/usr/share/containers/seccomp.json';

/** podman's global options: runc, and runc told where CRIU 4.2 is. */
export function globalFlags(criu = paths.criu) {
  return ['--runtime', 'runc', '--runtime-flag', `criu=${criu}`];
}

let criuDir;
/** The environment podman runs in: a directory whose `criu` is CRIU 4.2 ({@link paths}.criu) first on PATH. */
export function podmanEnv() {
  if (!criuDir && basename(paths.criu) === 'criu') criuDir = dirname(paths.criu);
  else if (!criuDir) {
    criuDir = mkdtempSync(join(tmpdir(), 'crac-podman-criu-'));
    symlinkSync(paths.criu, join(criuDir, 'criu'));
  }
  return { ...process.env, PATH: `${criuDir}:${process.env.PATH ?? '/usr/bin:/bin'}` };
}

/** `podman run` / `podman create` options every container here takes. */
export const RUN_FLAGS = Object.freeze(['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1000:1000', '--network=host']);

/**
 * The capabilities a container that restores (or checkpoints) with CRIU needs on top of podman's
 * defaults (which hold SETPCAP, the other one CRIU needs): proven by test/containers.e2e.test.ts,
 * docs/containers.md says why. Not SYS_PTRACE: CRIU traces processes of its own uid.
 */
export const CRIU_CAPABILITIES = Object.freeze(['CHECKPOINT_RESTORE']);

/** `--cap-add X` for each capability. */
export function capabilityFlags(capabilities = CRIU_CAPABILITIES) {
  return capabilities.flatMap((capability) => ['--cap-add', capability]);
}

/** What is missing on this machine for the container suites: podman, runc, CRIU 4.2 (empty: nothing). */
export function missingForContainers() {
  const missing = [];
  for (const [program, why] of [
    ['podman', 'the Debian package podman (pnpm bootstrap installs it as root)'],
    ['runc', 'the Debian package runc (pnpm bootstrap installs it as root)'],
  ]) {
    if (
      spawnSync('sh', ['-c', `command -v ${program}`], {
        stdio: 'ignore',
        env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
      }).status !== 0
    ) {
      missing.push(`${program}: ${why}`);
    }
  }
  if (!existsSync(paths.criu)) missing.push(`CRIU 4.2 at ${paths.criu} (pnpm bootstrap)`);
  if (!existsSync(DEFAULT_SECCOMP_PROFILE))
    missing.push(
      `podman's default seccomp profile ${DEFAULT_SECCOMP_PROFILE} (the Debian package golang-github-containers-common, a dependency of podman)`,
    );
  if (process.getuid?.() !== 0) missing.push('root (podman checkpoint/restore runs rootful)');
  return missing;
}

/** Throws naming what is missing for the container suites. */
export function assertContainerHost() {
  const missing = missingForContainers();
  if (missing.length > 0) throw new Error(`the container suite cannot run here; missing: ${missing.join('; ')}`);
}

/**
 * Runs `podman GLOBAL ARGS` to its end; resolves with its exit code and output (stdout and stderr
 * apart). Rejects when it exits non-zero, unless `check` is false. `env` adds to its environment.
 */
export function podman(args, { check = true, input, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('podman', [...globalFlags(), ...args], {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { ...podmanEnv(), ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    if (input !== undefined) child.stdin.end(input);
    child.on('error', reject);
    child.on('close', (code) => {
      if (check && code !== 0) reject(new Error(`podman ${args.join(' ')} failed (exit code ${code}):\n${stderr.slice(-3000)}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** Whether the image (or container, `kind`) exists. */
export async function exists(name, kind = 'image') {
  return (await podman([kind, 'exists', name], { check: false })).code === 0;
}

/** Removes containers by name, running or not; no error for those that are not there. */
export async function removeContainers(names) {
  if (names.length > 0) await podman(['rm', '--force', '--ignore', '--time', '0', ...names], { check: false });
}
