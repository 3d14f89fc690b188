import { spawnSync } from 'node:child_process';
import { MIN_CRIU_VERSION } from '@crac/core/protocol';

/** The CRIU package the distribution offers. */
export interface DistributionCriu {
  /** The package manager's version string (`4.2.1-1`). */
  version: string;
  /** 4.2 or newer. */
  usable: boolean;
  /** The command that installs it. */
  install: [string, ...string[]];
}

/**
 * The `criu` package apt would install (from the lists as they are: no `apt-get update`), or
 * undefined where there is no apt or no such package. Debian 12 offers 3.17: too old.
 */
export function distributionCriu(): DistributionCriu | undefined {
  const policy = spawnSync('apt-cache', ['policy', 'criu'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (policy.error || policy.status !== 0) return undefined;
  const candidate = /Candidate:\s*(\S+)/.exec(policy.stdout)?.[1];
  if (!candidate || candidate === '(none)') return undefined;
  return {
    version: candidate,
    usable: versionAtLeast(candidate, MIN_CRIU_VERSION),
    install: ['apt-get', 'install', '-y', '--no-install-recommends', 'criu'],
  };
}

/** `4.2.1-1`, `1:4.2-3ubuntu1`: the upstream version's major.minor against `[major, minor]`. */
export function versionAtLeast(version: string, [major, minor]: readonly [number, number]): boolean {
  const upstream = version.replace(/^\d+:/, '');
  const [a = 0, b = 0] = upstream.split(/[.-]/).map((part) => Number.parseInt(part, 10) || 0);
  return a > major || (a === major && b >= minor);
}
