// The warm image deployed as users deploy images (docs/containers.md), with real podman, CRIU,
// PostgreSQL and registry: pushed to a registry (Debian's docker-registry, the CNCF distribution
// registry, on a free port), pulled into a second, empty podman storage (another node) and
// restored there; refused at once where the CPU lacks a feature the image's had; and played by
// `podman kube play` from the Deployment of docs/containers.md, every pod a restored copy.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertContainerHost, podman, removeContainers } from '@crac/tools/podman';
import { freePort } from '@crac/tools/ports';
import { buildAppImage } from '@crac/tools/rootfs';
import { type PostgresService, type Service, startPostgres, startRegistry } from '@crac/tools/services';
import { bakeWarmImage, IMAGE_PATHS, restoreFlags, writeRestoreSeccompProfile } from '@crac/tools/warm-image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLD_START_LINE, get, healthy, logsOf, RESTORED_LINE, runToEnd } from './helpers/containers.js';
import { assertRealCriuHost, tempDir } from './helpers/harness.js';

/** Building the app image the first time (pnpm pack, npm install, podman import) and the build step. */
const BUILD_TIMEOUT_MS = 300_000;
/** podman's pods need a pause process; with no registry to pull a pause image from, podman builds one from catatonit. */
const CATATONIT = '/usr/bin/catatonit';

let postgres: PostgresService;
let registry: Service;
let warmImage: string;
const work = tempDir('crac-deploy-');
const containers: string[] = [];
/** podman's global options for the second storage: another node, which has never seen the image. */
const node2 = ['--root', join(work.path, 'node2', 'root'), '--runroot', join(work.path, 'node2', 'run')];
let seccompProfile: string;

beforeAll(async () => {
  assertContainerHost();
  assertRealCriuHost();
  if (!existsSync(CATATONIT)) throw new Error(`${CATATONIT} is missing: the Debian package catatonit (pnpm bootstrap installs it)`);
  [postgres, registry] = await Promise.all([startPostgres(), startRegistry()]);
  const image = await buildAppImage({ example: 'express-pg', node: process.execPath });
  warmImage = `localhost/crac-node/express-pg-warm:deploy-${process.pid}`;
  const port = await freePort();
  await bakeWarmImage({
    image,
    name: warmImage,
    env: { PORT: String(port), DATABASE_URL: `${postgres.url}?application_name=build` },
    warmup: `node ${IMAGE_PATHS.warmup} http://127.0.0.1:${port}/notes?limit=20 300`,
  });
  seccompProfile = writeRestoreSeccompProfile(join(work.path, 'crac-restore.json'));
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await removeContainers(containers);
  if (warmImage) await podman(['rmi', '--force', warmImage], { check: false });
  await removeStorage(node2);
  await Promise.allSettled([postgres?.dispose(), registry?.dispose()]);
  work.remove();
}, 120_000);

/** Empties a podman storage of ours (its containers and images, so nothing stays mounted), then removes it. */
async function removeStorage(storage: string[]): Promise<void> {
  if (!existsSync(storage[1] as string)) return;
  await podman([...storage, 'rm', '--all', '--force', '--time', '0'], { check: false });
  await podman([...storage, 'rmi', '--all', '--force'], { check: false });
  rmSync(join(work.path, 'node2'), { recursive: true, force: true });
}

describe('the warm image travels like any OCI image', () => {
  let remote: string;

  it(
    'is pushed to a registry, pulled into an empty storage (a second node) and restored there with its own environment',
    async () => {
      remote = `127.0.0.1:${registry.port}/crac-node/express-pg-warm:e2e-${process.pid}`;
      await podman(['tag', warmImage, remote]);
      await podman(['push', '--tls-verify=false', remote]);
      await podman(['rmi', remote]); // the tag only: the image stays as warmImage
      const tags = (await (await fetch(`${registry.url}/v2/crac-node/express-pg-warm/tags/list`)).json()) as { tags: string[] };
      expect(tags.tags).toContain(`e2e-${process.pid}`);

      mkdirSync(join(work.path, 'node2'));
      expect((await podman([...node2, 'images', '--quiet'])).stdout.trim()).toBe('');
      await podman([...node2, 'pull', '--quiet', '--tls-verify=false', remote]);
      // the same image, layer for layer: its id is the digest of its config, which names every layer's digest
      const id = async (storage: string[], name: string) =>
        (await podman([...storage, 'image', 'inspect', '--format', '{{.Id}}', name])).stdout.trim();
      expect(await id(node2, remote)).toBe(await id([], warmImage));

      // two containers in turn, with the node's tmpfs directory for crac's caches mounted (docs/containers.md)
      const shared = join('/dev/shm', `crac-e2e-node2-${process.pid}`);
      mkdirSync(shared, { mode: 0o700 });
      const verifyLines: string[] = [];
      try {
        for (const copy of [1, 2]) {
          const port = await freePort();
          const name = `crac-e2e-node2-${process.pid}-${copy}`;
          containers.push(name);
          await podman([
            ...node2,
            'run',
            '--detach',
            '--name',
            name,
            ...restoreFlags(seccompProfile),
            '--volume',
            `${shared}:/dev/shm/crac-criu`,
            '--env',
            `PORT=${port}`,
            '--env',
            `DATABASE_URL=${postgres.url}?application_name=node2-${copy}`,
            remote,
          ]);
          await healthy(name, port, node2);
          const instance = JSON.parse((await get(port, '/instance')).body);
          expect(instance).toMatchObject({ port, database: `node2-${copy}` });
          const note = await get(port, '/notes/42');
          expect(note.status).toBe(200);
          expect(JSON.parse(note.body)).toMatchObject({ id: 42, title: 'note 42' });
          const logs = await logsOf(name, node2);
          expect(logs).toMatch(RESTORED_LINE);
          expect(logs).not.toContain(COLD_START_LINE);
          verifyLines.push(/crac: verify .*/.exec(logs)?.[0] ?? '');
          await podman([...node2, 'rm', '--force', name]);
        }
      } finally {
        rmSync(shared, { recursive: true, force: true });
      }
      // a new node's files are not the inodes the seal recorded: the first container hashed the
      // image's files (its page file while CRIU restored) and node; the second found node's digest
      // in the node's cache (the same file: its device and inode, size, mtime and ctime)
      for (const line of verifyLines) expect(line).toMatch(/1 page file \([^)]*\) while CRIU restores/);
      expect(verifyLines[0]).toMatch(/, \d+ binar(y|ies) hashed \([\d.]+ MiB\)/);
      expect(verifyLines[1]).not.toMatch(/binar(y|ies) hashed/);
    },
    BUILD_TIMEOUT_MS,
  );

  it('is refused at once, naming the feature, on a node whose CPU lacks one the checkpointed CPU had', async () => {
    expect(remote, 'the round trip above pulled the image into the second storage').toBeDefined();
    // the node's CPU, faked: /proc/cpuinfo without one flag (runc lets a container mount over it, as LXCFS does)
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    const flags = (/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '').trim().split(/\s+/);
    const dropped = flags.includes('avx2') ? 'avx2' : (flags.at(-1) as string);
    const fake = join(work.path, 'cpuinfo');
    writeFileSync(
      fake,
      cpuinfo.replace(/^(flags\s*:.*)$/gm, (line) => line.replace(new RegExp(` ${dropped}(?= |$)`), '')),
    );
    expect(readFileSync(fake, 'utf8')).not.toMatch(new RegExp(` ${dropped}( |$)`, 'm'));

    const name = `crac-e2e-othercpu-${process.pid}`;
    containers.push(name);
    const { code, output } = await runToEnd(name, remote, {
      storage: node2,
      flags: [...restoreFlags(seccompProfile), '--volume', `${fake}:/proc/cpuinfo:ro`],
      databaseUrl: postgres.url,
    });
    expect(code, output).toBe(125);
    expect(output).toContain('[CRAC_EIMAGE_FOREIGN]');
    expect(output).toContain(`this CPU lacks features the checkpointed CPU had (${dropped})`);
    expect(output).toContain('fix: restore on a host with the same CPU, or checkpoint again on this one');
    expect(output).not.toMatch(RESTORED_LINE);
    expect(output).not.toContain('"event"');
  });
});

/**
 * The Deployment of docs/containers.md, as podman 4.3 plays it (the doc lists the differences):
 * the seccomp profile also by its annotation (podman reads that, not `seccompProfile`), no
 * `ports` (podman publishes a containerPort on the host's port, where the replicas collide), and
 * the database reached through a hostPath mount of the server's Unix socket. crac's node-wide
 * caches (CRIU's kernel probe, the binaries' digests) are a hostPath directory on the node's tmpfs.
 */
function deployment({
  name,
  image,
  secret,
  replicas,
  cacheDir,
}: {
  name: string;
  image: string;
  secret: string;
  replicas: number;
  cacheDir: string;
}): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata:
      labels: { app: ${name} }
      annotations: { container.seccomp.security.alpha.kubernetes.io/app: localhost/crac-restore.json }
    spec:
      containers:
        - name: app
          image: ${image}
          env:
            - { name: PORT, value: "3000" }
            - { name: DATABASE_URL, valueFrom: { secretKeyRef: { name: ${secret}, key: url } } }
          volumeMounts:
            - { name: crac-cache, mountPath: /dev/shm/crac-criu }
            - { name: db-socket, mountPath: /run/postgresql }
          securityContext:
            privileged: false
            allowPrivilegeEscalation: false
            capabilities:
              add: ["CHECKPOINT_RESTORE"]
            seccompProfile:
              type: Localhost
              localhostProfile: crac-restore.json
          readinessProbe: { httpGet: { path: /health, port: 3000 } }
      volumes:
        - { name: crac-cache, hostPath: { path: ${cacheDir}, type: DirectoryOrCreate } }
        - { name: db-socket, hostPath: { path: ${postgres.socketDir}, type: Directory } }
`;
}

/** GET from inside a pod (its own network namespace: the app listens on its 127.0.0.1), with the image's node. */
async function getInPod(container: string, path: string): Promise<{ status: number; body: string }> {
  const script = `fetch('http://127.0.0.1:3000${path}').then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })), () => console.log('{"status":0,"body":""}'))`;
  const { code, stdout } = await podman(['exec', container, 'node', '-e', script], { check: false });
  return code === 0 ? JSON.parse(stdout) : { status: 0, body: '' };
}

describe('podman kube play', () => {
  const REPLICAS = 4;
  const name = `crac-e2e-kube-${process.pid}`;
  const secret = `crac-e2e-db-${process.pid}`;
  let manifest: string;

  const cacheDir = join('/dev/shm', `crac-e2e-kube-${process.pid}`);

  afterAll(async () => {
    if (manifest) await podman(['kube', 'down', manifest], { check: false });
    await podman(['secret', 'rm', secret], { check: false });
    rmSync(cacheDir, { recursive: true, force: true });
  }, 60_000);

  it(
    `plays the Deployment of docs/containers.md: ${REPLICAS} pods, each a restored copy answering with the manifest's environment and its own randomness`,
    async () => {
      // podman's secretKeyRef reads a podman secret holding JSON of base64 values
      const url = `postgres://postgres@/postgres?host=/run/postgresql&port=${postgres.port}&application_name=kube`;
      const secretFile = join(work.path, 'db-secret.json');
      writeFileSync(secretFile, JSON.stringify({ url: Buffer.from(url).toString('base64') }), { mode: 0o600 });
      await podman(['secret', 'create', secret, secretFile]);
      manifest = join(work.path, 'deployment.yaml');
      writeFileSync(manifest, deployment({ name, image: warmImage, secret, replicas: REPLICAS, cacheDir }));
      // kube play takes no --ulimit: the rlimits this VM allows come from a containers.conf
      const conf = join(work.path, 'containers.conf');
      writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]\n');
      const played = await podman(['kube', 'play', '--seccomp-profile-root', work.path, manifest], {
        check: false,
        env: { CONTAINERS_CONF: conf },
      });
      expect(played.code, `${played.stdout}${played.stderr}`).toBe(0);

      const apps = Array.from({ length: REPLICAS }, (_, index) => `${name}-pod-${index}-app`);
      const instances = await Promise.all(
        apps.map(async (app) => {
          const deadline = Date.now() + 60_000;
          while (Date.now() < deadline) {
            const instance = await getInPod(app, '/instance');
            if (instance.status === 200) return JSON.parse(instance.body);
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
          throw new Error(`${app} never answered:\n${await logsOf(app)}`);
        }),
      );
      for (const instance of instances) expect(instance).toMatchObject({ port: 3000, database: 'kube' });
      expect(new Set(instances.map((instance) => instance.uuid)).size).toBe(REPLICAS);
      expect(new Set(instances.map((instance) => instance.random)).size).toBe(REPLICAS);
      for (const app of apps) {
        const note = await getInPod(app, '/notes/42');
        expect(note.status).toBe(200);
        expect(JSON.parse(note.body)).toMatchObject({ id: 42, title: 'note 42' });
        // restored (with vmsplice, which only the annotation's profile allows), not started cold
        const logs = await logsOf(app);
        expect(logs).toMatch(RESTORED_LINE);
        expect(logs).not.toContain(COLD_START_LINE);
        const inspected = JSON.parse((await podman(['inspect', app])).stdout)[0];
        expect(inspected.HostConfig.Privileged).toBe(false);
        expect(inspected.HostConfig.SecurityOpt).toContain('no-new-privileges');
        expect(inspected.EffectiveCaps).toContain('CAP_CHECKPOINT_RESTORE');
        expect(inspected.EffectiveCaps).not.toContain('CAP_SYS_ADMIN');
      }

      // the pods shared the node's cache directory: CRIU's kernel probe was written there, root's alone
      const kdat = statSync(join(cacheDir, 'criu.kdat'));
      expect({ uid: kdat.uid, mode: (kdat.mode & 0o777).toString(8) }).toEqual({ uid: 0, mode: '600' });

      const down = await podman(['kube', 'down', manifest], { check: false });
      expect(down.code, `${down.stdout}${down.stderr}`).toBe(0);
      for (let index = 0; index < REPLICAS; index++) {
        expect((await podman(['pod', 'exists', `${name}-pod-${index}`], { check: false })).code).toBe(1);
      }
    },
    BUILD_TIMEOUT_MS,
  );
});
