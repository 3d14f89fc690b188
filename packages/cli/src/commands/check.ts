import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CRIU_FIX, CRIU_PATH_ENV, findCriu, findNativeProgram, missingNativeAdvice, NATIVE_PROGRAMS } from '@crac/core/protocol';
import { ExitCode } from '../output.js';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when it fails. */
  fix?: string;
  /** A failed optional check only warns. */
  optional?: boolean;
}

/** `crac check`: can this host checkpoint and restore Node processes, and if not, what to do. */
export function checkCommand(options: { json?: boolean }): number {
  const checks = runChecks();
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
  const root = process.getuid?.() === 0;
  checks.push({
    name: 'privileges',
    ok: root,
    detail: root ? 'root' : `uid ${process.getuid?.()}`,
    fix: 'run as root (CRIU needs CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE and ptrace)',
  });

  let criuPath: string | undefined;
  try {
    const criu = findCriu();
    criuPath = criu.path;
    checks.push({ name: 'criu', ok: true, detail: `${criu.version} at ${criu.path}` });
  } catch (error) {
    checks.push({
      name: 'criu',
      ok: false,
      detail: (error as Error).message.replace(`: ${CRIU_FIX}`, ''),
      fix: process.env[CRIU_PATH_ENV]
        ? `point ${CRIU_PATH_ENV} at a CRIU 4.2+, or unset it and run \`npx crac setup\` as root to install one`
        : `\`npx crac setup\` as root installs CRIU 4.2+ (or set ${CRIU_PATH_ENV} to one)`,
    });
  }
  if (criuPath) {
    const run = spawnSync(criuPath, ['check'], { encoding: 'utf8' });
    const output = `${run.stdout}${run.stderr}`
      .split('\n')
      .filter((line) => line.trim() && !line.includes('RLIMIT_NOFILE'))
      .join('; ');
    checks.push({
      name: 'criu check',
      ok: run.status === 0,
      detail: output || 'passed',
      fix: "see CRIU's message; a kernel with CONFIG_CHECKPOINT_RESTORE is needed",
    });
  }

  let nativeFixGiven = false;
  for (const [name, program] of [
    ['native bridge', 'addon'],
    ['io_uring guard', 'guard'],
    ['restore supervisor', 'init'],
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
  }

  const ioUring = readSysctl('kernel/io_uring_disabled');
  const libuv = process.versions.uv;
  const usesIoUring = versionAtLeast(libuv, [1, 45]);
  checks.push({
    name: 'io_uring',
    ok: true,
    detail:
      ioUring === '2'
        ? 'disabled system-wide (kernel.io_uring_disabled=2)'
        : `libuv ${libuv} ${usesIoUring ? 'may use' : 'does not use'} io_uring: \`crac checkpoint\` starts apps under the guard`,
  });
  const unshare = spawnSync('unshare', ['--version'], { encoding: 'utf8' }).status === 0;
  checks.push({
    name: 'pid namespaces',
    ok: unshare,
    optional: true,
    detail: unshare ? 'unshare available: a restore whose pid is taken goes into a new pid namespace' : 'no unshare',
    fix: 'install util-linux',
  });
  return checks;
}

function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${name}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function versionAtLeast(version: string, [major, minor]: [number, number]): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}
