// Throwaway PostgreSQL, Redis and OCI registry servers for tests and demos: each on a free port of
// 127.0.0.1, with its own data directory, stopped and started again at will (same port, same
// data). Plain JavaScript (types in services.d.mts), no test framework: the suites, the benchmark
// and `pnpm demo:checkpoint` share it.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, waitForPort } from './ports.mjs';
import { spawnProcess, stop as stopProcess } from './processes.mjs';

const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

const live = new Set();
let exitHookInstalled = false;
function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // last resort: a test runner that dies must not leave servers behind
    process.once('exit', () => {
      for (const server of live) server.kill('SIGKILL');
    });
  }
}

/** Starts a server process (`launch()` spawns it, its output on pipes) and gives back start/stop around it. */
function managed(url, port, launch, ready, stopSignal, dataDir) {
  let server;
  const stop = async () => {
    const current = server;
    server = undefined;
    if (current) await stopProcess(current, { signal: stopSignal, graceMs: 15_000 });
  };
  const start = async () => {
    server = launch();
    track(server.child);
    await waitForPort(port, server);
    await ready(port);
  };
  return {
    host: '127.0.0.1',
    port,
    url: url(port),
    get pid() {
      return server?.child.pid;
    },
    get running() {
      return server?.isAlive() ?? false;
    },
    start,
    stop,
    async restart() {
      await stop();
      await start();
    },
    async dispose() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts a service; one that cannot start leaves nothing behind. */
async function started(service) {
  try {
    await service.start();
  } catch (error) {
    await service.dispose();
    throw error;
  }
  return service;
}

/**
 * A throwaway PostgreSQL 15: initdb'd into a fresh directory owned by `postgres` (it refuses
 * root), trust authentication, 127.0.0.1 on a free port, durability off for speed. Connect as
 * user `postgres`, database `postgres`.
 */
export async function startPostgres(options = {}) {
  const port = options.port ?? (await freePort());
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  const dir = mkdtempSync(join(tmpdir(), 'crac-pg-'));
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  execFileSync(join(POSTGRES_BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'], {
    uid,
    gid,
    cwd: dir,
    stdio: 'pipe',
  });
  const service = managed(
    (p) => `postgres://postgres@127.0.0.1:${p}/postgres`,
    port,
    () =>
      spawnProcess(
        join(POSTGRES_BIN, 'postgres'),
        [
          '-D',
          data,
          '-p',
          String(port),
          '-k',
          dir,
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          'fsync=off',
          '-c',
          'synchronous_commit=off',
          '-c',
          'full_page_writes=off',
          '-c',
          'max_connections=50',
          '-c',
          'shared_buffers=16MB',
        ],
        { uid, gid, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    async (p) => {
      // listening is not accepting yet: wait for the end of recovery
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          execFileSync(join(POSTGRES_BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(p), '-U', 'postgres', '-q'], { stdio: 'ignore' });
          return;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await sleep(50);
        }
      }
    },
    'SIGINT', // fast shutdown: disconnects the clients
    dir,
  );
  // its Unix socket, .s.PGSQL.PORT, is there (a container reaches it through a mount)
  service.socketDir = dir;
  return started(service);
}

/** Where Debian's package `docker-registry` (the CNCF distribution registry) puts the server. */
export const REGISTRY_BIN = '/usr/bin/docker-registry';

/**
 * A throwaway OCI registry (the CNCF distribution registry of Debian's `docker-registry`): plain
 * HTTP on 127.0.0.1 on a free port, its blobs in a fresh directory, no authentication. Images are
 * named `127.0.0.1:PORT/NAME:TAG` (`host:port` of the service); podman pushes and pulls them with
 * `--tls-verify=false`.
 */
export async function startRegistry(options = {}) {
  if (!existsSync(REGISTRY_BIN))
    throw new Error(`${REGISTRY_BIN} is missing: the Debian package docker-registry (pnpm bootstrap installs it)`);
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'crac-registry-'));
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: warn, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }`,
      `http: { addr: "127.0.0.1:${port}" }`,
      '',
    ].join('\n'),
  );
  const service = managed(
    (p) => `http://127.0.0.1:${p}`,
    port,
    () => spawnProcess(REGISTRY_BIN, ['serve', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }),
    async (p) => {
      // the distribution API's base endpoint answers 200 once the registry serves
      const response = await fetch(`http://127.0.0.1:${p}/v2/`);
      if (response.status !== 200) throw new Error(`the registry on port ${p} answered /v2/ with ${response.status}`);
    },
    'SIGTERM',
    dir,
  );
  return started(service);
}

/** A throwaway Redis: no persistence, 127.0.0.1 on a free port. */
export async function startRedis(options = {}) {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'crac-redis-'));
  const service = managed(
    (p) => `redis://127.0.0.1:${p}`,
    port,
    () =>
      spawnProcess(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir],
        { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    async () => {},
    'SIGTERM',
    dir,
  );
  return started(service);
}

/**
 * A throwaway Redis Cluster: `masters` (3) nodes with `--cluster-enabled yes`, each on free ports
 * of 127.0.0.1 (its client port and its cluster-bus port, chosen apart: the default bus port,
 * the client's + 10000, may be past 65535 or taken), joined by `redis-cli --cluster create` with
 * no replicas, ready once every node reports `cluster_state:ok`. The nodes keep their cluster
 * configuration across `restart()`, so a restarted node rejoins with its slots.
 */
export async function startRedisCluster(options = {}) {
  const masters = options.masters ?? 3;
  const nodes = [];
  const cluster = {
    nodes,
    get ports() {
      return nodes.map((node) => node.port);
    },
    get seeds() {
      return nodes.map((node) => ({ host: node.host, port: node.port }));
    },
    /** Stops every node, starts them again (each rejoins from its cluster configuration), and waits for `cluster_state:ok`. */
    async restart() {
      await Promise.all(nodes.map((node) => node.stop()));
      await Promise.all(nodes.map((node) => node.restart()));
      await clusterReady(nodes);
    },
    async dispose() {
      await Promise.allSettled(nodes.map((node) => node.dispose()));
    },
  };
  try {
    for (let i = 0; i < masters; i++) nodes.push(await started(await clusterNode(nodes)));
    const addresses = nodes.map((node) => `${node.host}:${node.port}`);
    // --cluster-yes: accept the proposed slot layout without a prompt
    execFileSync('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'pipe' });
    await clusterReady(nodes);
  } catch (error) {
    await cluster.dispose();
    throw error;
  }
  return cluster;
}

/** One cluster node (not started), on a client port and a bus port both unused by `others`. */
async function clusterNode(others) {
  const taken = new Set(others.flatMap((node) => [node.port, node.busPort]));
  const pick = async () => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  const port = await pick();
  const busPort = await pick();
  const dir = mkdtempSync(join(tmpdir(), 'crac-redis-cluster-'));
  const service = managed(
    (p) => `redis://127.0.0.1:${p}`,
    port,
    () =>
      spawnProcess(
        'redis-server',
        [
          '--port',
          String(port),
          '--cluster-port',
          String(busPort),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
          '--dir',
          dir,
        ],
        { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    async () => {},
    'SIGTERM',
    dir,
  );
  return Object.assign(service, { busPort });
}

/** Waits until every node says `cluster_state:ok` (the slots are assigned and the nodes agree). */
async function clusterReady(nodes, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (const node of nodes) {
    for (;;) {
      const info = execFileSync('redis-cli', ['-h', node.host, '-p', String(node.port), 'cluster', 'info'], { encoding: 'utf8' });
      if (info.includes('cluster_state:ok')) break;
      if (Date.now() > deadline)
        throw new Error(`the Redis Cluster was not ready within ${timeoutMs} ms; node ${node.port} says:\n${info}`);
      await sleep(100);
    }
  }
}

const KNOWN = {
  postgres: { variable: 'DATABASE_URL', label: 'PostgreSQL', start: startPostgres },
  redis: { variable: 'REDIS_URL', label: 'Redis', start: startRedis },
};

/**
 * The environment naming the servers that are `needed` ('postgres', 'redis'): the caller's own
 * DATABASE_URL / REDIS_URL when set, else throwaway servers, handed to `atEnd` to be disposed.
 */
export async function serviceEnvironment(needed, { atEnd, progress = () => {} }) {
  const env = {};
  for (const name of needed) {
    const { variable, label, start } = KNOWN[name];
    if (process.env[variable]) {
      env[variable] = process.env[variable];
      continue;
    }
    progress(`starting a throwaway ${label} (set ${variable} to use yours)...`);
    const service = await start();
    atEnd(() => service.dispose());
    env[variable] = service.url;
  }
  return env;
}
