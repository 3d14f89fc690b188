// What the figures were taken on.
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';

/** CPU, memory, kernel and the versions of the tools a run used. */
export function machine({ nodes, criu }) {
  const version = (command, args) => {
    try {
      return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .trim()
        .split('\n')[0];
    } catch {
      return 'unknown';
    }
  };
  return {
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: `Linux ${release()}`,
    nodes: Object.fromEntries(Object.entries(nodes).map(([name, bin]) => [name, version(bin, ['--version'])])),
    criu: version(criu, ['--version']).replace(/^Version:\s*/, ''),
  };
}
