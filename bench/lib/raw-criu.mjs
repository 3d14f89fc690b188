// The baseline a user reaches for without crac-node: start the app, warm it up, `criu dump -t
// PID` it, `criu restore` it. No coordination (connections stay open: --tcp-established), no
// shrinking.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { launch } from '../../tools/lifecycle.mjs';
import { kill } from '../../tools/processes.mjs';
import { rssBytes } from './images.mjs';

/** CRIU flags a user needs for a Node app holding connections to a database or a cache. */
const TCP = ['--tcp-established', '--network-lock', 'nftables'];

/**
 * Starts `node ARGS` in its own session, runs the warm-up command to completion, then dumps the
 * process with the raw CRIU binary. Resolves with the RSS just before the dump and the dump time.
 */
export async function rawCheckpoint({ criu, node, args, cwd, env, image, warmup }) {
  mkdirSync(image, { recursive: true });
  const app = launch(node, args, { cwd, env, stdio: 'ignore', detached: true });
  const warm = spawn('/bin/sh', ['-c', warmup], { stdio: 'ignore' });
  const warmed = await new Promise((resolve) => warm.once('exit', (code) => resolve(code)));
  if (warmed !== 0 || !app.isAlive()) throw new Error(`raw CRIU baseline: the warm-up failed (exit code ${warmed})`);
  await sleep(200); // let the warm-up's connections close on the server side
  const rss = rssBytes(app.child.pid);
  const started = performance.now();
  const dump = spawnSync(criu, ['dump', '-t', String(app.child.pid), '-D', image, '--shell-job', ...TCP, '-o', 'dump.log'], {
    encoding: 'utf8',
  });
  const checkpointMs = performance.now() - started;
  if (dump.status !== 0) throw new Error(`criu dump failed (see ${join(image, 'dump.log')})`);
  await app.exited;
  return { pid: app.child.pid, rssBytes: rss, checkpointMs };
}

/**
 * `criu restore` in the foreground (CRIU stays the parent and reaps the app): the handle ends
 * when `stopApp()` killed the restored pid.
 */
export function rawRestore({ criu, image, pid }) {
  const handle = launch(criu, ['restore', '-D', image, '--shell-job', ...TCP, '-o', 'restore.log'], { stdio: 'ignore' });
  return {
    ...handle,
    async stopApp() {
      kill(pid); // no error if it was not restored, or is gone
      await handle.exited;
    },
  };
}
