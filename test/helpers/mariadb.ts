// A throwaway MariaDB for tests: its own data directory under the system's temporary one
// (mariadb-install-db), mariadbd on a free port of 127.0.0.1 with a root user without a password,
// stopped by stop() or, at the latest, when the process that started it exits or dies. Needs
// the mariadb-server package (scripts/setup-mariadb.sh installs it); without it, an error that
// says so, never a skip.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort, waitForPort } from '../../tools/ports.mjs';

/** A running throwaway MariaDB. */
export interface MariaDb {
  host: '127.0.0.1';
  port: number;
  /** `mysql://root@127.0.0.1:PORT/`: root, no password, no database. */
  url: string;
  /** mariadbd's pid. */
  pid: number;
  /** Kills the server and removes its data directory. */
  stop(): Promise<void>;
}

const SEARCH = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/sbin'];

/** Where `program` is, on PATH or in the usual system directories. */
function findProgram(program: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SEARCH];
  return dirs.map((dir) => join(dir, program)).find((path) => existsSync(path));
}

function required(program: string): string {
  const path = findProgram(program);
  if (!path) {
    throw new Error(
      `${program} not found (PATH, /usr/sbin): the MariaDB tests need a MariaDB server; install it with \`bash scripts/setup-mariadb.sh\` (as root: apt-get install mariadb-server)`,
    );
  }
  return path;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Last resort: no mariadbd outlives the process that started it. */
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const server of live) server.kill('SIGKILL');
  });
}

/**
 * Starts a throwaway MariaDB and waits until it accepts connections (about a second).
 * @throws Error naming the package to install when mariadbd or mariadb-install-db is missing,
 * or with the server's log when it does not start.
 */
export async function startMariaDb(): Promise<MariaDb> {
  const mariadbd = required('mariadbd');
  const installDb = required('mariadb-install-db');
  const user = userInfo().username;
  const dir = mkdtempSync(join(tmpdir(), 'crac-mariadb-'));
  const data = join(dir, 'data');
  const log = join(dir, 'error.log');
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync(
      installDb,
      [
        '--no-defaults',
        `--datadir=${data}`,
        `--user=${user}`,
        // root@localhost, root@127.0.0.1...: no password, mysql_native_password (not unix_socket)
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ],
      { stdio: 'pipe', cwd: dir },
    );
  } catch (error) {
    removeDir();
    const output = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`mariadb-install-db failed: ${String(output.stderr ?? '')}${String(output.stdout ?? '')}`, { cause: error });
  }
  const port = await freePort();
  const args = [
    '--no-defaults',
    `--datadir=${data}`,
    `--socket=${join(dir, 'sock')}`,
    `--pid-file=${join(dir, 'mariadbd.pid')}`,
    `--log-error=${log}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--skip-name-resolve',
    '--skip-log-bin',
    // small and fast: a test server, thrown away
    '--innodb-buffer-pool-size=16M',
    '--innodb-log-file-size=8M',
    '--innodb-flush-log-at-trx-commit=0',
    '--max-connections=100',
    // mariadbd refuses to run as root unless told so
    ...(process.getuid?.() === 0 ? ['--user=root'] : []),
  ];
  // setpriv --pdeathsig: killed by the kernel when the process that started it dies, even by SIGKILL
  const setpriv = findProgram('setpriv');
  const child = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', mariadbd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(mariadbd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  let exited = child.exitCode !== null || child.signalCode !== null;
  const ended = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const serverLog = () => {
    const file = existsSync(log) ? readFileSync(log, 'utf8') : '';
    return `${output}${file}`.split('\n').slice(-30).join('\n');
  };
  const stop = async () => {
    if (!exited) {
      child.kill('SIGKILL');
      await ended;
    }
    removeDir();
  };
  try {
    await waitForPort(port, { isAlive: () => !exited, output: serverLog, timeoutMs: 60_000 });
  } catch (error) {
    await stop();
    throw new Error(`mariadbd did not start on port ${port}:\n${serverLog()}`, { cause: error });
  }
  return { host: '127.0.0.1', port, url: `mysql://root@127.0.0.1:${port}/`, pid: child.pid as number, stop };
}
