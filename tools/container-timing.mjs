// Times a container as a user starts one: from `podman run -d` to its first 200, and where that
// time went: podman's start of the container (to its process's start: podman inspect's
// StartedAt), then, in a restored container, crac restore's phases (its log lines: verify,
// restore) and the rest (crac's launcher, afterRestore, the first response). `pnpm
// demo:container` and the benchmark's container rows share it.
import { performance } from 'node:perf_hooks';
import { firstSuccess } from './measure.mjs';
import { podman } from './podman.mjs';
import { freePort } from './ports.mjs';

/** podman's StartedAt (`2026-12-06 18:30:00.123456789 +0000 UTC`) in ms since the epoch. */
export function startedAtMs(text) {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))? ([+-]\d{2})(\d{2})/.exec(text.trim());
  if (!match) throw new Error(`podman inspect gave a StartedAt this does not read: ${text.trim()}`);
  const [, day, time, fraction = '0', hours, minutes] = match;
  return Date.parse(`${day}T${time}${hours}:${minutes}`) + Number(`0.${fraction}`) * 1000;
}

/** crac restore's phases from its log (`crac: verify   2.0 ms ...`, `crac: restore  40.1 ms ...`), in ms; undefined when absent. */
export function restorePhases(log) {
  const phase = (name) => {
    const match = new RegExp(`crac: ${name}\\s+([\\d.]+) ms`).exec(log);
    return match ? Number(match[1]) : undefined;
  };
  return { verifyMs: phase('verify'), restoreMs: phase('restore') };
}

/**
 * Starts container `name` (`podman run --detach`, `flags`, `env` with PORT a free port, then
 * `image`: the image and its command) and waits for its first 200 on `probe`. Resolves with its
 * port, the ms from the command to that answer, and `phases`: `containerStartMs` (podman's share),
 * and for a restored container `verifyMs`, `restoreMs` (supervisor and CRIU) and `restMs`.
 */
export async function timeContainer({ name, flags, image, env = {}, probe }) {
  const port = await freePort();
  const envFlags = Object.entries({ ...env, PORT: String(port) }).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
  const wallStart = Date.now();
  const started = performance.now();
  const run = podman(['run', '--detach', '--name', name, ...flags, ...envFlags, ...image]);
  let running = true;
  run.catch(() => {
    running = false;
  });
  const first = await firstSuccess(`http://127.0.0.1:${port}${probe}`, started, { isAlive: () => running });
  await run;
  const startedAt = await podman(['inspect', '--format', '{{.State.StartedAt}}', name]);
  const phases = { containerStartMs: startedAtMs(startedAt.stdout) - wallStart };
  const logs = await podman(['logs', name], { check: false });
  const { verifyMs, restoreMs } = restorePhases(`${logs.stdout}${logs.stderr}`);
  if (verifyMs !== undefined && restoreMs !== undefined)
    Object.assign(phases, { verifyMs, restoreMs, restMs: first.ms - phases.containerStartMs - verifyMs - restoreMs });
  return { name, port, ms: first.ms, phases };
}
