// Path 1 of docs/containers.md with real podman and real CRIU: an express + pg app image (built
// without a registry from this machine's node and CRIU, tools/rootfs.mjs), its warm image baked in
// by a build step (tools/warm-image.mjs), then containers started from it: each a restored copy
// with its own PORT, its own DATABASE_URL and its own randomness, none --privileged.
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths } from '@crac/tools/paths';
import { assertContainerHost, CRIU_CAPABILITIES, capabilityFlags, podman, removeContainers, RUN_FLAGS } from '@crac/tools/podman';
import { freePort } from '@crac/tools/ports';
import { buildAppImage } from '@crac/tools/rootfs';
import { type Service, startPostgres } from '@crac/tools/services';
import {
  bakeWarmImage,
  commitWarmImage,
  IMAGE_PATHS,
  restoreFlags,
  WARM_IMAGE_DIR,
  writeRestoreSeccompProfile,
} from '@crac/tools/warm-image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLD_START_LINE, get, healthy, RESTORED_LINE, runToEnd } from './helpers/containers.js';
import { assertRealCriuHost, FIXTURES, ROOT, run, tempDir } from './helpers/harness.js';

/** Building the image the first time (pnpm pack, npm install, podman import) and the build step. */
const BUILD_TIMEOUT_MS = 300_000;
const COPIES = 4;

let postgres: Service;
/** The app image and its warm image on this machine's Node; other tests use them. */
let image: string;
let warmImage: string;
let seccompProfile: string;
const containers: string[] = [];
const warmImages: string[] = [];
const work = tempDir('crac-containers-');

/** The Nodes the warm image is baked on: this machine's, and the current LTS (io_uring: under crac-guard). */
const NODES = [
  { name: `node ${process.versions.node.split('.')[0]}`, bin: process.execPath },
  { name: 'node 24', bin: paths.node24 },
];

/** Builds the express-pg image on `node` and bakes its warm image in; resolves with both names. */
async function bakeOn(node: string): Promise<{ image: string; warmImage: string }> {
  const built = await buildAppImage({ example: 'express-pg', node });
  const warm = `localhost/crac-node/express-pg-warm:e2e-${process.pid}-${warmImages.length}`;
  warmImages.push(warm);
  const port = await freePort();
  await bakeWarmImage({
    image: built,
    name: warm,
    env: { PORT: String(port), DATABASE_URL: `${postgres.url}?application_name=build` },
    warmup: `node ${IMAGE_PATHS.warmup} http://127.0.0.1:${port}/notes?limit=20 500`,
  });
  return { image: built, warmImage: warm };
}

beforeAll(async () => {
  assertContainerHost();
  assertRealCriuHost();
  postgres = await startPostgres();
  ({ image, warmImage } = await bakeOn(process.execPath));
  seccompProfile = writeRestoreSeccompProfile(join(work.path, 'restore-seccomp.json'));
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await removeContainers(containers);
  if (warmImages.length > 0) await podman(['rmi', '--force', ...warmImages], { check: false });
  await postgres?.dispose();
  work.remove();
}, 60_000);

/** Starts a container of a warm image (detached); resolves with its name. */
async function startCopy(name: string, env: Record<string, string>, flags: string[], from = warmImage): Promise<string> {
  containers.push(name);
  const envFlags = Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
  await podman(['run', '--detach', '--name', name, ...flags, ...envFlags, from]);
  return name;
}

/** Runs a container of the warm image (or `from`) to its end; resolves with its exit code and output. */
function runWarmToEnd(name: string, flags: string[], from = warmImage): Promise<{ code: number | null; output: string }> {
  containers.push(name);
  return runToEnd(name, from, { flags, databaseUrl: postgres.url });
}

describe('path 1: a warm image baked into an OCI image', () => {
  it.each(NODES)(
    `on $name: starts ${COPIES} containers at once from it, each with its own PORT, DATABASE_URL and randomness, none privileged`,
    async (node) => {
      const from = node.bin === process.execPath ? warmImage : (await bakeOn(node.bin)).warmImage;
      const ports = await Promise.all(Array.from({ length: COPIES }, () => freePort()));
      const names = ports.map((_, index) => `crac-e2e-copy-${process.pid}-${node.name.replace(' ', '')}-${index}`);
      await Promise.all(
        names.map((name, index) =>
          startCopy(
            name,
            { PORT: String(ports[index]), DATABASE_URL: `${postgres.url}?application_name=copy-${index}` },
            restoreFlags(seccompProfile),
            from,
          ),
        ),
      );
      await Promise.all(names.map((name, index) => healthy(name, ports[index] as number)));

      const instances = await Promise.all(ports.map(async (port) => JSON.parse((await get(port, '/instance')).body)));
      expect(instances.map((instance) => instance.port)).toEqual(ports);
      expect(instances.map((instance) => instance.database)).toEqual(names.map((_, index) => `copy-${index}`));
      expect(new Set(instances.map((instance) => instance.uuid)).size).toBe(COPIES);
      expect(new Set(instances.map((instance) => instance.random)).size).toBe(COPIES);
      for (const port of ports) {
        const note = await get(port, '/notes/42');
        expect(note.status).toBe(200);
        expect(JSON.parse(note.body)).toMatchObject({ id: 42, title: 'note 42' });
      }
      for (const name of names) {
        // restored, not started cold: crac restore's phases, and no app start-up line
        const logs = await podman(['logs', name]);
        expect(`${logs.stdout}${logs.stderr}`).toMatch(RESTORED_LINE);
        expect(logs.stdout).not.toContain(COLD_START_LINE);
        // node is the base layer's file the image mapped (its inode; the overlay's device is the container's own): not hashed
        expect(logs.stderr).toMatch(/crac: verify /);
        expect(logs.stderr).not.toMatch(/binar(y|ies) hashed/);
        const inspected = JSON.parse((await podman(['inspect', name])).stdout)[0];
        expect(inspected.HostConfig.Privileged).toBe(false);
        expect(inspected.EffectiveCaps).toContain('CAP_CHECKPOINT_RESTORE');
        expect(inspected.EffectiveCaps).not.toContain('CAP_SYS_ADMIN');
        expect(inspected.EffectiveCaps).not.toContain('CAP_SYS_PTRACE');
      }
      // the app's listener went through the bake (held, not closed) and is in the image: each
      // restore above bound its own PORT before CRIU ran, and the copy listened on that socket
      const read = `process.stdout.write(require('node:fs').readFileSync('${WARM_IMAGE_DIR}/crac-manifest.json', 'utf8'))`;
      const manifest = JSON.parse((await podman(['run', '--rm', ...RUN_FLAGS, '--entrypoint', IMAGE_PATHS.node, from, '-e', read])).stdout);
      expect(manifest).toMatchObject({
        format: 3,
        listeners: [{ port: expect.any(Number), portEnv: 'PORT', slot: expect.stringMatching(/\/crac-listen-0$/) }],
      });
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'bakes the warm image with the Containerfile of docs/ (podman build FROM the app image): its containers restore, the build secret is not in its history',
    async () => {
      const context = join(work.path, 'containerfile');
      mkdirSync(context);
      copyFileSync(join(ROOT, 'docs', 'Containerfile'), join(context, 'Containerfile'));
      const secret = join(work.path, 'database_url');
      writeFileSync(secret, `${postgres.url}?application_name=build`, { mode: 0o600 });
      const built = `localhost/crac-node/express-pg-warm:built-${process.pid}`;
      warmImages.push(built);
      const port = await freePort();
      const build = await podman(
        [
          'build',
          '--runtime',
          'runc',
          ...RUN_FLAGS,
          ...capabilityFlags(CRIU_CAPABILITIES),
          '--security-opt',
          'seccomp=unconfined',
          '--secret',
          `id=database_url,src=${secret}`,
          '--build-arg',
          `BASE=${image}`,
          '--build-arg',
          `PORT=${port}`,
          '--build-arg',
          `WARMUP=node ${IMAGE_PATHS.warmup} http://127.0.0.1:${port}/notes?limit=20 300`,
          '--tag',
          built,
          context,
        ],
        { check: false },
      );
      const output = `${build.stdout}${build.stderr}`;
      expect(build.code, output).toBe(0);
      expect(output).toMatch(/crac: checkpoint .* dumped, image/);
      const history = await podman(['history', '--no-trunc', '--format', '{{.CreatedBy}}', built]);
      expect(history.stdout).toContain('crac checkpoint --to /var/lib/crac/image');
      expect(history.stdout).not.toContain('postgres://');

      const copyPort = await freePort();
      const name = await startCopy(
        `crac-e2e-built-${process.pid}`,
        { PORT: String(copyPort), DATABASE_URL: `${postgres.url}?application_name=built-copy` },
        restoreFlags(seccompProfile),
        built,
      );
      await healthy(name, copyPort);
      expect(JSON.parse((await get(copyPort, '/instance')).body)).toMatchObject({ port: copyPort, database: 'built-copy' });
      expect((await get(copyPort, '/notes/42')).status).toBe(200);
      const logs = await podman(['logs', name]);
      expect(logs.stderr).toMatch(RESTORED_LINE);
      expect(logs.stdout).not.toContain(COLD_START_LINE);
      expect(logs.stderr).not.toMatch(/binar(y|ies) hashed/);
    },
    BUILD_TIMEOUT_MS,
  );

  it("keeps CRIU's kernel probe in a host tmpfs directory mounted at /dev/shm/crac-criu: probed once, then read by the next container", async () => {
    const shared = join('/dev/shm', `crac-e2e-kdat-${process.pid}`);
    mkdirSync(shared, { mode: 0o700 });
    const written: number[] = [];
    try {
      for (const copy of [1, 2]) {
        const port = await freePort();
        const name = await startCopy(`crac-e2e-kdat-${process.pid}-${copy}`, { PORT: String(port), DATABASE_URL: postgres.url }, [
          ...restoreFlags(seccompProfile),
          '--volume',
          `${shared}:/dev/shm/crac-criu`,
        ]);
        await healthy(name, port);
        // unprivileged CRIU keeps it only in $XDG_RUNTIME_DIR: crac restore gave it this directory
        const kdat = statSync(join(shared, 'criu.kdat'));
        expect({ uid: kdat.uid, mode: (kdat.mode & 0o777).toString(8) }).toEqual({ uid: 0, mode: '600' });
        written.push(kdat.ino);
        await podman(['rm', '--force', name], { check: false });
      }
      // CRIU writes the file anew (a rename) only when it probed: the second container read it
      expect(written[1]).toBe(written[0]);
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });

  it('cannot checkpoint under a seccomp filter: the build step needs seccomp unconfined', async () => {
    const port = await freePort();
    const failed = await bakeWarmImage({
      image,
      name: `localhost/crac-node/express-pg-warm:e2e-seccomp-${process.pid}`,
      env: { PORT: String(port), DATABASE_URL: postgres.url },
      warmup: `node ${IMAGE_PATHS.warmup} http://127.0.0.1:${port}/health 10`,
      seccomp: seccompProfile,
    }).catch((error: Error) => error);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(/suspending seccomp failed: Operation not permitted/);
  });

  it('passes `crac check` in a restoring container (root without cap_sys_admin)', async () => {
    const name = `crac-e2e-check-${process.pid}`;
    containers.push(name);
    const { code, stdout, stderr } = await podman(
      ['run', '--name', name, ...restoreFlags(seccompProfile), '--entrypoint', 'crac', warmImage, 'check'],
      {
        check: false,
      },
    );
    expect(code, `${stdout}${stderr}`).toBe(0);
    expect(stdout).toMatch(/ok\s+privileges\s+root without cap_sys_admin/);
  });

  it('needs cap_checkpoint_restore: without it the entrypoint fails naming the flag', async () => {
    const { code, output } = await runWarmToEnd(`crac-e2e-nocap-${process.pid}`, [
      ...RUN_FLAGS,
      '--security-opt',
      `seccomp=${seccompProfile}`,
    ]);
    expect(code).toBe(125);
    expect(output).toContain('CRAC_ECRIU_CAPS');
    expect(output).toContain('--cap-add CHECKPOINT_RESTORE');
  });

  it('under --cap-drop ALL (CHECKPOINT_RESTORE and SETPCAP added) fails at once, naming the capabilities the app had', async () => {
    const capabilities = ['--cap-drop', 'ALL', '--cap-add', 'CHECKPOINT_RESTORE', '--cap-add', 'SETPCAP'];
    const flags = [...RUN_FLAGS, ...capabilities, '--security-opt', `seccomp=${seccompProfile}`];
    // before the check, CRIU stopped every thread of the app mid-restore and waited for them forever
    const { code, output } = await runWarmToEnd(`crac-e2e-capdrop-${process.pid}`, flags);
    expect(code).toBe(125);
    expect(output).toContain('CRAC_ECRIU_CAPS');
    expect(output).toMatch(/the app of this image had cap_chown, .*give the container --cap-add CHOWN --cap-add DAC_OVERRIDE/);
  });

  it('refuses, in a fresh container, an image whose page file was altered in a later layer: the app never runs', async () => {
    // a derived image: one byte of pages-1.img flipped (same size), committed as a new layer
    const editor = `crac-e2e-tamper-${process.pid}`;
    containers.push(editor);
    const flip = [
      "const fs = require('node:fs');",
      `const fd = fs.openSync('${WARM_IMAGE_DIR}/pages-1.img', 'r+');`,
      'const at = Math.floor(fs.fstatSync(fd).size / 2), byte = Buffer.alloc(1);',
      'fs.readSync(fd, byte, 0, 1, at); byte[0] ^= 1; fs.writeSync(fd, byte, 0, 1, at);',
    ].join(' ');
    await podman(['run', '--name', editor, ...RUN_FLAGS, '--entrypoint', 'node', warmImage, '-e', flip]);
    const tampered = `${warmImage}-tampered`;
    warmImages.push(tampered);
    await commitWarmImage(editor, tampered);
    const { code, output } = await runWarmToEnd(`crac-e2e-tampered-${process.pid}`, restoreFlags(seccompProfile), tampered);
    expect(code).toBe(125);
    expect(output).toContain('[CRAC_EIMAGE_CORRUPT]');
    expect(output).toMatch(/pages-1\.img changed since the checkpoint \(its SHA-256 differs\)/);
    // hashed while CRIU restored, and the app never resumed: no restore line, no line of the app's
    expect(output).toMatch(/1 page file \([^)]*\) while CRIU restores/);
    expect(output).not.toMatch(/crac: restore |"event"/);
  });

  it("needs vmsplice, which podman's default seccomp profile refuses: the restore fails there", async () => {
    const flags = restoreFlags(seccompProfile).filter((flag) => !flag.startsWith('seccomp=') && flag !== '--security-opt');
    const { code, output } = await runWarmToEnd(`crac-e2e-seccomp-${process.pid}`, flags);
    expect(code).toBe(125);
    expect(output).toMatch(/Error splicing data: Operation not permitted/);
  });
});

describe('pnpm demo:container', () => {
  it(
    'builds the image, times cold start and restore in containers, and starts 8 copies at once',
    async () => {
      // `pnpm test` has just run the set-up the demo would run first; one run keeps CI short
      const demo = join(ROOT, 'scripts', 'demo-container.mjs');
      const { code, output, events } = await run(process.execPath, [demo, '--json', '--skip-setup', '--runs=1', '--only=express-pg'], {
        stdout: 'file',
      });
      expect(code, output).toBe(0);
      const results = events.find((event) => 'examples' in event) as unknown as {
        examples: { example: string; cold: { medianMs: number }; restored: { medianMs: number } }[];
        together: { copies: number; ports: number[]; uuids: string[] };
      };
      expect(results.examples.map((result) => result.example)).toEqual(['express-pg']);
      expect(results.examples[0]?.cold.medianMs).toBeGreaterThan(0);
      expect(results.examples[0]?.restored.medianMs).toBeGreaterThan(0);
      expect(new Set(results.together.ports).size).toBe(8);
      expect(new Set(results.together.uuids).size).toBe(8);
      const left = await podman(['ps', '--all', '--format', '{{.Names}}', '--filter', 'name=crac-demo-']);
      expect(left.stdout.trim()).toBe('');
    },
    BUILD_TIMEOUT_MS,
  );
});

/** Path 2 on every Node the real-CRIU suites run (the app image of each: built once, then found by its content's tag). */
const PATH2_NODES = [...NODES, { name: 'node 22', bin: paths.node22 }].filter(
  (node, index, all) => all.findIndex((other) => other.name === node.name) === index,
);

describe('path 2: the container engine checkpoints a coordinated app', () => {
  it.each(PATH2_NODES)(
    'on $name: prepares (hooks before the dump), is exported once, restored twice: each copy with its own environment and randomness',
    async (node) => {
      const image = await buildAppImage({ example: 'express-pg', node: node.bin });
      const tag = node.name.replace(' ', '');
      const envDir = join(work.path, `restore-env-${tag}`);
      mkdirSync(envDir);
      const archive = join(work.path, `app-checkpoint-${tag}.tar.gz`);
      const [port, portA, portB] = await Promise.all([freePort(), freePort(), freePort()]);
      const original = `crac-e2e-engine-${process.pid}-${tag}`;
      const copies = [`${original}-a`, `${original}-b`];
      containers.push(original, ...copies);
      const guard = `${IMAGE_PATHS.app}/node_modules/@crac/core-linux-x64-gnu/crac-guard`;
      await podman([
        'run',
        '--detach',
        '--name',
        original,
        ...RUN_FLAGS,
        '--volume',
        `${envDir}:/run/crac-env`,
        '--volume',
        `${FIXTURES}:/fixtures:ro`,
        '--env',
        'CRAC_RESTORE_ENV_DIR=/run/crac-env',
        '--env',
        `PORT=${port}`,
        '--env',
        `DATABASE_URL=${postgres.url}?application_name=original`,
        image,
        guard,
        '--',
        'node',
        '--require',
        '@crac/core/register',
        '--require',
        '/fixtures/hook-log.cjs',
        'app.js',
      ]);
      await healthy(original, port);

      // before the dump: every resource lets go, then the app holds
      const prepared = await podman(['exec', original, 'crac', 'prepare', '--pid', '1', '--json'], { check: false });
      expect(prepared.code, `${prepared.stdout}${prepared.stderr}`).toBe(0);
      expect(JSON.parse(prepared.stdout.trim())).toMatchObject({ ok: true, outcome: 'held' });
      expect((await get(port, '/health')).status).toBe(0); // its listener is closed while it holds
      const before = await hookLines(original);
      expect(before.filter((line) => line.phase === 'beforeCheckpoint').map((line) => line.resource)).toEqual(
        expect.arrayContaining(['express server', 'checkpoint trigger']),
      );
      expect(before.filter((line) => line.phase === 'afterRestore')).toEqual([]);

      await podman(['container', 'checkpoint', '--export', archive, original]);
      // one environment file per copy, claimed by the copy that takes it first
      writeFileSync(join(envDir, 'a.env'), `PORT=${portA}\nDATABASE_URL=${postgres.url}?application_name=copy-a\n`);
      writeFileSync(join(envDir, 'b.env'), `PORT=${portB}\nDATABASE_URL=${postgres.url}?application_name=copy-b\n`);
      for (const name of copies) await podman(['container', 'restore', '--import', archive, '--name', name]);
      await Promise.all([healthy(copies[0] as string, portA), healthy(copies[1] as string, portB)]);

      const instances = await Promise.all([portA, portB].map(async (copyPort) => JSON.parse((await get(copyPort, '/instance')).body)));
      expect(instances.map((instance) => instance.port)).toEqual([portA, portB]);
      expect(instances.map((instance) => instance.database).sort()).toEqual(['copy-a', 'copy-b']);
      expect(instances[0].uuid).not.toBe(instances[1].uuid);
      expect(instances[0].random).not.toBe(instances[1].random);
      for (const copyPort of [portA, portB]) {
        const note = await get(copyPort, '/notes/42');
        expect(note.status).toBe(200);
        expect(JSON.parse(note.body)).toMatchObject({ id: 42, title: 'note 42' });
      }
      // after each restore: the afterRestore hooks ran in the copy, with the copy's own PORT
      for (const [index, name] of copies.entries()) {
        const after = (await hookLines(name)).filter((line) => line.phase === 'afterRestore');
        expect(after.map((line) => line.resource)).toEqual(expect.arrayContaining(['express server', 'checkpoint trigger']));
        expect(new Set(after.map((line) => line.port))).toEqual(new Set([String([portA, portB][index])]));
        expect(after.every((line) => line.ok)).toBe(true);
      }
      expect(readdirSync(envDir).filter((file) => file.endsWith('.env'))).toEqual([]);
    },
    BUILD_TIMEOUT_MS,
  );
});

/** The hook lines (test/fixtures/hook-log.cjs) a container printed. */
async function hookLines(name: string): Promise<{ resource: string; phase: string; port: string; ok: boolean }[]> {
  const { stdout } = await podman(['logs', name]);
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{"event":"hook"'))
    .map((line) => JSON.parse(line));
}
