// The container rows: path 1 of docs/containers.md measured beside the host's rows of the same
// run. For each example, its app image (tools/rootfs.mjs) and warm image (tools/warm-image.mjs)
// made once; then in every round a cold start in a container and a restore in a container, each
// from `podman run -d` to the first 200, with where the restored container's time goes
// (tools/container-timing.mjs). `crac restore` to the first 200 inside the container (all but
// podman's start) is set against the host's crac restore of the same example.
import { join } from 'node:path';
import { timeContainer } from '../../tools/container-timing.mjs';
import { median } from '../../tools/measure.mjs';
import { assertContainerHost, podman, RUN_FLAGS, removeContainers } from '../../tools/podman.mjs';
import { bakeExample, restoreFlags, writeRestoreSeccompProfile } from '../../tools/warm-image.mjs';

/** Cold start and restore in containers of each example in `names`, `rounds` times each; `atEnd` removes what was made. */
export async function containerRows(env, { names, configs, services, rounds, work, atEnd }) {
  assertContainerHost();
  const seccomp = writeRestoreSeccompProfile(join(work, 'restore-seccomp.json'));
  const rows = [];
  for (const name of names) {
    const config = configs[name];
    env.progress(`${name}: container image and its warm image...`);
    const tag = `bench-${process.pid}`;
    atEnd(() => podman(['rmi', '--force', `localhost/crac-node/${name}-warm:${tag}`], { check: false }));
    const { image, warmImage } = await bakeExample({ example: name, config, services, tag, progress: env.progress });
    const cold = [];
    const restored = [];
    for (let round = 1; round <= rounds; round++) {
      env.progress(`${name}: containers, round ${round}/${rounds}`);
      const pair = [`crac-bench-cold-${process.pid}-${round}`, `crac-bench-restore-${process.pid}-${round}`];
      try {
        cold.push(
          await timeContainer({ name: pair[0], flags: RUN_FLAGS, image: [image, ...config.start], env: services, probe: config.probe }),
        );
        restored.push(
          await timeContainer({ name: pair[1], flags: restoreFlags(seccomp), image: [warmImage], env: services, probe: config.probe }),
        );
      } finally {
        await removeContainers(pair);
      }
    }
    const phase = (key) => median(restored.map((run) => run.phases[key]));
    rows.push({
      example: name,
      coldMs: median(cold.map((run) => run.ms)),
      coldContainerStartMs: median(cold.map((run) => run.phases.containerStartMs)),
      restoredMs: median(restored.map((run) => run.ms)),
      phasesMs: {
        containerStart: phase('containerStartMs'),
        verify: phase('verifyMs'),
        restore: phase('restoreMs'),
        rest: phase('restMs'),
      },
      // what crac restore costs once the container runs: comparable to the host's crac restore
      insideMs: median(restored.map((run) => run.ms - run.phases.containerStartMs)),
    });
  }
  return rows;
}
