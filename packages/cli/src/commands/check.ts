import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import {
  CRIU_FIX,
  CRIU_GROUP,
  CRIU_PATH_ENV,
  ErrorCode,
  assertCriuCapabilities,
  criuCapabilityStatus,
  criuRunsUnprivileged,
  findCriu,
  findNativeProgram,
  grantCapabilitiesCommand,
  grantCriuCapabilities,
  missingNativeAdvice,
  NATIVE_PROGRAMS,
  noNewPrivileges,
  whoMayRunCriu,
} from '@crac/core/protocol';
import { ExitCode } from '../output.js';

/** One row of `crac check`. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when it fails. */
  fix?: string;
  /** A failed optional check only warns. */
  optional?: boolean;
}

/** Options of `crac check`. */
export interface CheckCommandOptions {
  json?: boolean;
  /**
   * First grant the CRIU binary the file capabilities a non-root user needs (root only; see
   * `grantCriuCapabilities` of `@crac/core/protocol`), then check.
   */
  grantCapabilities?: boolean;
}

/** `crac check`: can this host checkpoint and restore Node processes, and if not, what to do. */
export function checkCommand(options: CheckCommandOptions): number {
  const checks: Check[] = [];
  if (options.grantCapabilities) checks.push(grant());
  checks.push(...runChecks());
  const ok = checks.every((check) => check.ok || check.optional);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ok, checks })}\n`);
  } else {
    for (const check of checks) {
      const mark = check.ok ? 'ok  ' : check.optional ? 'warn' : 'FAIL';
      process.stdout.write(`${mark} ${check.name.padEnd(22)} ${check.detail}\n`);
      if (!check.ok && check.fix) process.stdout.write(`     ${''.padEnd(22)} fix: ${check.fix}\n`);
    }
    process.stdout.write(ok ? 'This host can checkpoint and restore.\n' : 'This host cannot checkpoint yet: see the fixes above.\n');
  }
  return ok ? ExitCode.OK : ExitCode.FAILED;
}

function runChecks(): Check[] {
  const checks: Check[] = [];
  checks.push({
    name: 'linux',
    ok: process.platform === 'linux',
    detail: process.platform,
    fix: 'CRIU runs on Linux only; elsewhere use the simulate engine (CRAC_ENGINE=simulate)',
  });
  // judged by the native bridge; without it (its own row says why) by the uid alone
  let unprivileged: boolean;
  try {
    unprivileged = criuRunsUnprivileged();
  } catch {
    unprivileged = process.geteuid?.() !== 0;
  }

  let criuPath: string | undefined;
  try {
    const criu = findCriu();
    criuPath = criu.path;
    checks.push({ name: 'criu', ok: true, detail: `${criu.version} at ${criu.path}` });
  } catch (error) {
    const noBridge = findNativeProgram('addon') === undefined;
    // there, but for the members of its group alone
    const notMember = (error as { code?: string }).code === ErrorCode.UNPRIVILEGED;
    checks.push({
      name: 'criu',
      ok: false,
      // CRIU is looked for by the native code: without it, the native rows below say what to do
      detail: noBridge
        ? 'not looked for: the native bridge that finds it is missing (below)'
        : (error as Error).message.replace(`: ${CRIU_FIX}`, ''),
      fix: noBridge
        ? 'as below'
        : notMember
          ? `as root: usermod -aG ${CRIU_GROUP} ${userInfo().username}`
          : process.env[CRIU_PATH_ENV]
            ? `point ${CRIU_PATH_ENV} at a CRIU 4.2+, or unset it and run \`npx crac setup\` as root to install one`
            : `\`npx crac setup\` as root installs CRIU 4.2+ (or set ${CRIU_PATH_ENV} to one)`,
    });
  }
  const others = !unprivileged && criuPath ? forOtherUsers(criuPath) : undefined;
  checks.push(privileges(unprivileged, criuPath, others?.detail));
  if (criuPath && others?.everyone) checks.push(grantedToEveryone(criuPath));
  if (criuPath) {
    // as a non-root user CRIU refuses to run without --unprivileged
    const run = spawnSync(criuPath, unprivileged ? ['check', '--unprivileged'] : ['check'], { encoding: 'utf8' });
    const output = `${run.stdout}${run.stderr}`
      .split('\n')
      .filter((line) => line.trim() && !line.includes('RLIMIT_NOFILE'))
      .join('; ');
    // In a container /proc/sys is read-only: CRIU's check wants ns_last_pid, which its dump and
    // restore do without (clone3 with set_tid); that one error alone is no failure.
    const errors = output.split('; ').filter((line) => line.startsWith('Error'));
    const onlyNsLastPid =
      run.status !== 0 && errors.length > 0 && errors.every((line) => line.includes('ns_last_pid sysctl is inaccessible'));
    checks.push({
      name: 'criu check',
      ok: run.status === 0 || onlyNsLastPid,
      detail: onlyNsLastPid
        ? "passed but for ns_last_pid (read-only /proc/sys, a container's): CRIU restores pids with clone3 instead"
        : output || 'passed',
      fix: "see CRIU's message; a kernel with CONFIG_CHECKPOINT_RESTORE is needed",
    });
  }

  let nativeFixGiven = false;
  let guard: { path: string } | undefined;
  for (const [name, program] of [
    ['native bridge', 'addon'],
    ['io_uring guard', 'guard'],
    ['restorer', 'restore'],
  ] as const) {
    const found = findNativeProgram(program);
    checks.push({
      name,
      ok: found !== undefined,
      detail: found ? `${found.path}${found.source === 'prebuilt' ? ' (prebuilt)' : ''}` : `${NATIVE_PROGRAMS[program].file} is missing`,
      // they come and go together: the fix once
      fix: found ? undefined : nativeFixGiven ? 'as above' : missingNativeAdvice(),
    });
    if (!found) nativeFixGiven = true;
    if (program === 'guard') guard = found;
  }

  checks.push(ioUringCheck(probeIoUring(guard?.path)));
  checks.push(pidNamespaceCheck(unprivileged ? undefined : probePidNamespace()));
  if (unprivileged) {
    checks.push({
      name: 'monotonic clock',
      ok: false,
      optional: true,
      detail:
        'not as a non-root user: no time namespace, so process.hrtime() and performance.now() jump by the time between checkpoint and restore (Date.now() is right either way)',
      fix: 'restore as root to keep the monotonic clock continuous',
    });
  }
  return checks;
}

/**
 * Root checkpoints and restores with every capability; anybody else with CRIU's --unprivileged
 * mode, when the CRIU binary carries the file capabilities it needs and exec honours them.
 */
function privileges(unprivileged: boolean, criuPath: string | undefined, others: string | undefined): Check {
  if (!unprivileged) return { name: 'privileges', ok: true, detail: `root${others ? `; ${others}` : ''}` };
  if (process.geteuid?.() === 0) {
    // a container's root (no cap_sys_admin): CRIU runs unprivileged with this process's capabilities
    const who = "root without cap_sys_admin (a container's), unprivileged CRIU with its own capabilities";
    try {
      assertCriuCapabilities(criuPath ?? 'criu');
      return { name: 'privileges', ok: true, detail: `${who}: it has the ones CRIU needs` };
    } catch (error) {
      return { name: 'privileges', ok: false, detail: `${who}: ${(error as Error).message}`, fix: 'see docs/containers.md' };
    }
  }
  const who = `uid ${process.geteuid?.()}, unprivileged CRIU`;
  let noNewPrivs = false;
  try {
    noNewPrivs = noNewPrivileges();
  } catch {
    // no native bridge: the criu row already fails, naming it
  }
  if (noNewPrivs) {
    return {
      name: 'privileges',
      ok: false,
      detail: `${who}: this process runs with no_new_privs, so CRIU's file capabilities are ignored`,
      fix: 'run outside no_new_privs (systemd NoNewPrivileges=, a container with no-new-privileges), or as root',
    };
  }
  if (!criuPath) return { name: 'privileges', ok: false, detail: `${who}: no CRIU to look at (see the criu check)` };
  let missing: string[];
  try {
    missing = criuCapabilityStatus(criuPath).missing.map(({ name }) => name);
  } catch (error) {
    return { name: 'privileges', ok: false, detail: `${who}: cannot read the capabilities of ${criuPath}: ${(error as Error).message}` };
  }
  if (missing.length === 0) return { name: 'privileges', ok: true, detail: `${who}: ${criuPath} has the capabilities it needs` };
  return {
    name: 'privileges',
    ok: false,
    detail: `${who}: ${criuPath} lacks ${missing.join(', ')}`,
    fix: `as root: ${grantCapabilitiesCommand(criuPath)} (or crac check --grant-capabilities)`,
  };
}

/**
 * For root: whether other users can checkpoint too (the capabilities of the CRIU binary), and who;
 * `everyone` when every user may run a CRIU that has them.
 */
function forOtherUsers(criuPath: string): { detail: string; everyone: boolean } {
  try {
    const { missing } = criuCapabilityStatus(criuPath);
    if (missing.length > 0)
      return { detail: 'non-root users cannot (crac check --grant-capabilities grants CRIU what they need)', everyone: false };
    const { everyone, group } = whoMayRunCriu(criuPath);
    const who = everyone ? 'every user' : group ? `the members of the group ${group}` : 'no other user (CRIU is executable by root alone)';
    return { detail: `${who} can checkpoint and restore too (CRIU has the capabilities they need)`, everyone };
  } catch {
    return { detail: 'whether non-root users can is unknown (the native bridge is needed to read CRIU capabilities)', everyone: false };
  }
}

/**
 * For root: a CRIU granted the capabilities that every user may run is a grant of those
 * capabilities to every user (an image's owner can keep them in a restored process): a warning.
 */
function grantedToEveryone(criuPath: string): Check {
  return {
    name: 'capability grant',
    ok: false,
    optional: true,
    detail: `${criuPath} carries cap_checkpoint_restore and cap_setpcap and every user may run it: any of them can keep both in a process of theirs (CRIU restores the capabilities an image records)`,
    fix: `crac setup --unprivileged (as root) restricts it to the group ${CRIU_GROUP}`,
  };
}

/** `--grant-capabilities`: as root, grant the CRIU binary what a non-root user needs. */
function grant(): Check {
  try {
    const { path, capabilities } = grantCriuCapabilities(findCriu().path);
    return {
      name: 'grant capabilities',
      ok: true,
      detail: `${path} now has ${capabilities.join(', ')}: non-root users can checkpoint and restore`,
    };
  } catch (error) {
    const { code, message } = error as Error & { code?: string };
    return { name: 'grant capabilities', ok: false, detail: `${code ? `[${code}] ` : ''}${message}` };
  }
}

function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${name}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** What {@link probeIoUring} found. */
export interface IoUringProbe {
  /** `kernel.io_uring_disabled` (0, 1, 2), or undefined where the kernel has no such sysctl (before 6.6). */
  readonly sysctl: string | undefined;
  /** The Node this CLI runs on. */
  readonly node: string;
  /** Whether that Node opens an io_uring instance as it starts, or why that could not be seen. */
  readonly opens: boolean | { readonly error: string };
  /** The same under crac-guard; undefined when there is no guard to run. */
  readonly opensUnderGuard?: boolean | { readonly error: string };
}

/** Prints `io_uring` when this process holds an io_uring instance (libuv opens one at start-up). */
const IO_URING_PROBE =
  "const fs=require('node:fs');let found=false;for(const fd of fs.readdirSync('/proc/self/fd')){try{if(fs.readlinkSync('/proc/self/fd/'+fd)==='anon_inode:[io_uring]')found=true}catch{}}process.stdout.write(found?'io_uring':'none')";

/**
 * Whether Node opens an io_uring instance here, which CRIU cannot dump: a Node started plainly,
 * then under crac-guard (`guard`), each looking at its own descriptors. Two short-lived Nodes.
 */
export function probeIoUring(guard: string | undefined): IoUringProbe {
  const run = (command: string, args: string[]): boolean | { error: string } => {
    const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    if (result.stdout === 'io_uring' || result.stdout === 'none') return result.stdout === 'io_uring';
    return { error: result.error?.message ?? (result.stderr.trim() || `exit ${result.status ?? result.signal}`) };
  };
  const node = ['-e', IO_URING_PROBE];
  return {
    sysctl: readSysctl('kernel/io_uring_disabled'),
    node: process.version,
    opens: run(process.execPath, node),
    opensUnderGuard: guard ? run(guard, ['--', process.execPath, ...node]) : undefined,
  };
}

/** The `io_uring` row: whether Node opens an io_uring here, and whether crac-guard keeps it from doing so. */
export function ioUringCheck(probe: IoUringProbe): Check {
  const name = 'io_uring';
  const kernel =
    probe.sysctl === '2'
      ? 'kernel.io_uring_disabled=2: off for every process'
      : probe.sysctl === '1'
        ? 'kernel.io_uring_disabled=1: only root and the io_uring_group may use it'
        : probe.sysctl === undefined
          ? 'no kernel.io_uring_disabled (a kernel before 6.6): on, if built in'
          : `kernel.io_uring_disabled=${probe.sysctl}: on`;
  if (typeof probe.opens !== 'boolean') {
    return {
      name,
      ok: false,
      optional: true,
      detail: `${kernel}; could not see whether Node ${probe.node} opens one: ${probe.opens.error}`,
    };
  }
  if (!probe.opens) {
    const others =
      probe.sysctl === '2' ? '' : '; Node 22+ opens one as it starts: `crac checkpoint` starts apps under crac-guard, which prevents it';
    return { name, ok: true, detail: `Node ${probe.node} (this CLI's) opens none (${kernel})${others}` };
  }
  const opens = `Node ${probe.node} opens one as it starts (${kernel}), and CRIU cannot dump it`;
  const underGuard = probe.opensUnderGuard;
  if (underGuard === false) {
    return {
      name,
      ok: true,
      detail: `${opens}; under crac-guard it opens none: \`crac checkpoint\` starts apps under it (start an app another way under it too)`,
    };
  }
  if (underGuard === undefined) {
    return { name, ok: false, detail: `${opens}, and there is no crac-guard to start it without`, fix: 'see the io_uring guard above' };
  }
  return {
    name,
    ok: false,
    detail: underGuard === true ? `${opens}, even under crac-guard` : `${opens}; crac-guard could not be run: ${underGuard.error}`,
    fix: 'as root: sysctl -w kernel.io_uring_disabled=2 (Node then does without io_uring)',
  };
}

/** What {@link probePidNamespace} found: ok, or why a pid namespace could not be made. */
export type PidNamespaceProbe =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: string }
  /** No `unshare` (util-linux) to try with. */
  | { readonly ok: undefined; readonly error: string };

/**
 * Makes what `crac restore` makes for each copy as root: a new pid namespace with a /proc of its
 * own (`unshare --pid --fork --mount-proc true`, util-linux).
 */
export function probePidNamespace(): PidNamespaceProbe {
  if (readSysctl('user/max_pid_namespaces') === '0') return { ok: false, error: 'user.max_pid_namespaces is 0' };
  const run = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], {
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return { ok: undefined, error: 'no unshare command (util-linux) to try with' };
  }
  if (run.status === 0) return { ok: true };
  return { ok: false, error: run.error?.message ?? (run.stderr.trim() || `unshare ended with ${run.status ?? run.signal}`) };
}

/** The `pid namespaces` row; `probe` is undefined for an unprivileged run, which never uses them. */
export function pidNamespaceCheck(probe: PidNamespaceProbe | undefined): Check {
  const name = 'pid namespaces';
  if (probe === undefined) {
    return {
      name,
      ok: false,
      optional: true,
      detail:
        "not without root's CAP_SYS_ADMIN (CRIU runs unprivileged): a restore needs the image's pids free, so one copy of an image at a time",
      fix: 'restore as root to run copies of one image at once',
    };
  }
  if (probe.ok === true) {
    return {
      name,
      ok: true,
      detail:
        'a new pid namespace with its own /proc can be made: each restore goes into one, copies of one image never race for their pids',
    };
  }
  if (probe.ok === undefined) {
    return {
      name,
      ok: false,
      optional: true,
      detail: `not probed (${probe.error}): each restore goes into a new pid namespace, which this check could not try`,
      fix: 'install util-linux to probe it',
    };
  }
  return {
    name,
    ok: false,
    detail: `a new pid namespace with its own /proc cannot be made here (${probe.error}), and \`crac restore\` makes one for each copy`,
    fix: 'allow pid and mount namespaces (a container: its seccomp profile, CAP_SYS_ADMIN), or restore with --pid-namespace never (one copy of an image at a time)',
  };
}
