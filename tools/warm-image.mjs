// Path 1 of docs/containers.md, the recipe as code: a build step runs the app in a container,
// warms it up and checkpoints it there (`crac checkpoint`), then `podman commit` makes that
// container an image whose entrypoint is `crac restore`. Every container started from it is a
// restored copy, with its own environment (PORT, DATABASE_URL) and its own randomness.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { freePort } from './ports.mjs';
import { buildAppImage, IMAGE_PATHS } from './rootfs.mjs';
import { CRIU_CAPABILITIES, capabilityFlags, DEFAULT_SECCOMP_PROFILE, podman, RUN_FLAGS, removeContainers } from './podman.mjs';

/** Where the warm image (CRIU's files) lives inside the OCI image. */
export const WARM_IMAGE_DIR = '/var/lib/crac/image';

/**
 * The build step's command: `crac checkpoint`, nothing else (it starts the app above the pids a
 * restoring container's entrypoint takes: packages/cli/src/commands/pid-floor.ts).
 */
export function checkpointCommand({ warmup, start }) {
  const quoted = (word) => `'${word.replaceAll("'", `'\\''`)}'`;
  return `exec crac checkpoint --to ${WARM_IMAGE_DIR} --warmup ${quoted(warmup)} -- ${start.map(quoted).join(' ')}`;
}

/**
 * An example's app image (tools/rootfs.mjs) and its warm image `localhost/crac-node/EXAMPLE-warm:TAG`,
 * baked with `services` and the example's own warm-up (demo.json); resolves with both names and
 * the build step's milliseconds.
 */
export async function bakeExample({ example, config, services, tag, progress = () => {} }) {
  const image = await buildAppImage({ example, progress });
  const warmImage = `localhost/crac-node/${example}-warm:${tag}`;
  const port = await freePort();
  const started = performance.now();
  await bakeWarmImage({
    image,
    name: warmImage,
    env: { ...services, PORT: String(port) },
    warmup: `node ${IMAGE_PATHS.warmup} 'http://127.0.0.1:${port}${config.warmup.path}' ${config.warmup.requests}`,
    start: config.start,
    progress,
  });
  return { image, warmImage, bakeMs: performance.now() - started };
}

/**
 * Bakes the warm image of `image` into a new image `name`: runs the build step (the app started
 * with `start`, `env`, warmed up by the shell command `warmup`), then commits it. The build step
 * needs cap_checkpoint_restore and no seccomp filter (CRIU suspends a dumped process's filter,
 * which only cap_sys_admin may do). Resolves with the build step's output.
 */
export async function bakeWarmImage({
  image,
  name,
  env = {},
  warmup,
  start = ['node', 'app.js'],
  seccomp = 'unconfined',
  progress = () => {},
}) {
  const builder = `crac-bake-${process.pid}-${Date.now()}`;
  progress(`build step: warming up and checkpointing in container ${builder}...`);
  try {
    const envFlags = Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
    const run = await podman(
      [
        'run',
        '--name',
        builder,
        ...RUN_FLAGS,
        ...capabilityFlags(CRIU_CAPABILITIES),
        '--security-opt',
        `seccomp=${seccomp}`,
        ...envFlags,
        image,
        'sh',
        '-c',
        checkpointCommand({ warmup, start }),
      ],
      { check: false },
    );
    const output = `${run.stdout}${run.stderr}`;
    if (run.code !== 0) throw new Error(`the build step's checkpoint failed (exit code ${run.code}):\n${output.slice(-3000)}`);
    await commitWarmImage(builder, name);
    progress(`committed ${name}`);
    return output;
  } finally {
    await removeContainers([builder]);
  }
}

/** Commits `container` (its warm image in WARM_IMAGE_DIR) as image `name`, whose entrypoint restores it. */
export async function commitWarmImage(container, name) {
  await podman([
    'commit',
    '--quiet',
    '--change',
    `ENTRYPOINT=["crac","restore","${WARM_IMAGE_DIR}"]`,
    '--change',
    'CMD=[]',
    container,
    name,
  ]);
}

/**
 * The seccomp profile of a restoring container: podman's default profile (containers-common's
 * seccomp.json) with `vmsplice` allowed, which CRIU uses to refill the pipes of the restored
 * process and which the default profile refuses (EPERM). Written to `path`; resolves with it.
 */
export function writeRestoreSeccompProfile(path, defaults = DEFAULT_SECCOMP_PROFILE) {
  const profile = JSON.parse(readFileSync(defaults, 'utf8'));
  profile.syscalls = profile.syscalls
    .map((rule) => (rule.action === 'SCMP_ACT_ALLOW' ? rule : { ...rule, names: rule.names.filter((syscall) => syscall !== 'vmsplice') }))
    .filter((rule) => rule.names.length > 0);
  profile.syscalls.push({
    names: ['vmsplice'],
    action: 'SCMP_ACT_ALLOW',
    args: [],
    comment: 'CRIU refills pipes at restore',
    includes: {},
    excludes: {},
  });
  writeFileSync(path, `${JSON.stringify(profile, null, 2)}\n`);
  return path;
}

/** `podman run` options of a restoring container: no --privileged, cap_checkpoint_restore, the seccomp profile. */
export function restoreFlags(seccompProfile) {
  return [...RUN_FLAGS, ...capabilityFlags(CRIU_CAPABILITIES), '--security-opt', `seccomp=${seccompProfile}`];
}

export { IMAGE_PATHS };
