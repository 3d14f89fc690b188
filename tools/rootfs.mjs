// A container image for the container suite and demo, built without a registry: a root file
// system assembled from this machine's binaries (node, CRIU 4.2, a shell, the libraries ldd names
// for each), the packed @crac packages and an example app installed from those tarballs with npm,
// as a user's image would hold them; then `podman import`. The image is tagged with a hash of
// everything that went in, so a rerun with nothing changed only checks that the tag exists.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { exampleDir } from './examples.mjs';
import { paths } from './paths.mjs';
import { exists, podman } from './podman.mjs';
import { tempDir } from './processes.mjs';

/** Where things are inside the image. */
export const IMAGE_PATHS = Object.freeze({
  /** The app, with its node_modules (the @crac packages among them). */
  app: '/srv/app',
  /** `crac`: a link to @crac/cli's launcher (bin/crac) in the app's node_modules, as npm links it. */
  crac: '/usr/local/bin/crac',
  node: '/usr/local/bin/node',
  /** bench/warmup.mjs: `node /usr/local/lib/crac/warmup.mjs URL COUNT` warms an app up. */
  warmup: '/usr/local/lib/crac/warmup.mjs',
  /** Where crac setup puts CRIU, so that @crac/core finds it as on a host. */
  criu: '/usr/local/libexec/crac/criu',
});

/** The packages an image's app gets from their tarballs (pnpm pack), in the order they are packed. */
// the CLI's dependencies among them: its preload hands the data clients to their adapters
const PACKED = ['core', 'core-linux-x64-gnu', 'cli', 'express', 'pg', 'generic-pool', 'ioredis', 'mysql2'];
/** What of a package directory goes in its tarball, and so in the hash. */
const PACKED_CONTENT = [
  'package.json',
  'bin',
  'dist',
  'scripts',
  'native/build',
  'crac.node',
  'crac-guard',
  'crac-init',
  'crac-restore',
  'crac-seal',
  'crac-nouring.so',
];
/**
 * Programs copied from the host, beside node and CRIU: a shell (crac's launcher, --warmup), env
 * (cli.js's #!) and readlink (the launcher follows its link with it).
 */
const HOST_PROGRAMS = ['/bin/sh', '/usr/bin/env', '/usr/bin/readlink'];

/**
 * Builds (or finds, by hash) the image of `example` (examples/NAME) on `node` (this node by
 * default; Node 22/24 from test/'s npm aliases work too). Resolves with the image's name.
 */
export async function buildAppImage({ example = 'express-pg', node = process.execPath, progress = () => {} } = {}) {
  const app = exampleDir(example);
  const hash = contentHash([
    node,
    paths.criu,
    `${paths.criu}.build`,
    ...HOST_PROGRAMS,
    toolFile('rootfs.mjs'),
    join(paths.root, 'bench', 'warmup.mjs'),
    app,
    ...PACKED.map(packageDir),
  ]);
  // one repository per example and Node major: a rebuild replaces only its own older tags
  const major = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim().split('.')[0];
  const name = `localhost/crac-node/${example}-node${major.slice(1)}:${hash.slice(0, 16)}`;
  if (await exists(name)) {
    progress(`image ${name} is up to date`);
    return name;
  }
  progress(`building ${name} (packing the @crac packages, npm install, podman import)...`);
  const work = tempDir('crac-rootfs-');
  try {
    const root = join(work.path, 'root');
    mkdirSync(root);
    layOutBase(root);
    for (const program of [node, paths.criu, ...HOST_PROGRAMS]) copyProgram(root, program);
    copyInto(root, realpathSync(node), IMAGE_PATHS.node);
    copyInto(root, paths.criu, IMAGE_PATHS.criu);
    if (existsSync(`${paths.criu}.build`)) copyInto(root, `${paths.criu}.build`, `${IMAGE_PATHS.criu}.build`);
    copyInto(root, join(paths.root, 'bench', 'warmup.mjs'), IMAGE_PATHS.warmup);
    installApp(root, app, join(work.path, 'packs'));
    const tarball = join(work.path, 'rootfs.tar');
    execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tarball, '.']);
    await podman([
      'import',
      '--change',
      `WORKDIR=${IMAGE_PATHS.app}`,
      '--change',
      'ENV=PATH=/usr/local/bin:/usr/bin:/bin',
      '--change',
      'ENV=NODE_ENV=production',
      '--change',
      'CMD=["node","app.js"]',
      tarball,
      name,
    ]);
    progress(`built ${name}`);
    await removeOtherTags(name);
    return name;
  } finally {
    work.remove();
  }
}

/** Removes the images of the same repository with another tag: those built from older content. */
async function removeOtherTags(name) {
  const repository = name.slice(0, name.lastIndexOf(':'));
  const listed = await podman(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=${repository}`], { check: false });
  const stale = listed.stdout.split('\n').filter((line) => line.startsWith(`${repository}:`) && line !== name);
  if (stale.length > 0) await podman(['rmi', '--force', ...stale], { check: false });
}

function packageDir(name) {
  return join(paths.root, 'packages', name);
}

function toolFile(file) {
  return join(paths.root, 'tools', file);
}

/** SHA-256 over the contents of files and directories (node_modules left out), with their names and modes. */
export function contentHash(entries) {
  const hash = createHash('sha256');
  const add = (path) => {
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    hash.update(`${path}\0${stat.mode}\0`);
    if (stat.isSymbolicLink()) hash.update(readlinkSync(path));
    else if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) if (entry !== 'node_modules' && entry !== '.turbo') add(join(path, entry));
    } else hash.update(readFileSync(path));
  };
  for (const entry of entries) {
    // a package directory counts by what it packs; anything else whole
    if (entry.startsWith(join(paths.root, 'packages'))) for (const part of PACKED_CONTENT) add(join(entry, part));
    else add(entry);
  }
  return hash.digest('hex');
}

/** The directories and files every image has: the usr-merged layout of the host, /tmp, users. */
function layOutBase(root) {
  for (const dir of [
    'usr/bin',
    'usr/lib',
    'usr/lib64',
    'usr/sbin',
    'usr/local/bin',
    'etc',
    'dev',
    'proc',
    'sys',
    'run',
    'var/lib/crac',
    'srv',
  ]) {
    mkdirSync(join(root, dir), { recursive: true });
  }
  mkdirSync(join(root, 'tmp'), { mode: 0o1777 });
  chmodSync(join(root, 'tmp'), 0o1777);
  // Debian's usrmerge: /bin, /lib... are links into /usr, where ldd's paths then resolve
  for (const link of ['bin', 'lib', 'lib64', 'sbin']) {
    const host = `/${link}`;
    if (lstatSync(host, { throwIfNoEntry: false })?.isSymbolicLink()) symlinkSync(readlinkSync(host), join(root, link));
    else mkdirSync(join(root, link), { recursive: true });
  }
  writeFileSync(
    join(root, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/srv/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n',
  );
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n');
  mkdirSync(join(root, 'root'), { mode: 0o700 });
}

/** Copies `from` to `to` inside the root (its real content, mode kept). */
function copyInto(root, from, to) {
  const target = join(root, to);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(from, target);
  chmodSync(target, statSync(from).mode & 0o7777);
}

/** A program with the shared libraries it loads (ldd), each at its real path. */
function copyProgram(root, program) {
  const real = realpathSync(program);
  copyInto(root, real, real);
  if (program !== real && !existsSync(join(root, program))) copyInto(root, real, program);
  for (const library of librariesOf(real)) {
    const realLibrary = realpathSync(library);
    if (!existsSync(join(root, realLibrary))) copyInto(root, realLibrary, realLibrary);
    // the name the loader looks for (libc.so.6), when it is a link to the versioned file
    const linked = join(realpathSync(dirname(library)), library.split('/').pop());
    if (linked !== realLibrary && !existsSync(join(root, linked))) copyInto(root, realLibrary, linked);
  }
}

/** The shared libraries (with the loader) ldd lists for a program: absolute paths. */
function librariesOf(program) {
  let output;
  try {
    output = execFileSync('ldd', [program], { encoding: 'utf8' });
  } catch {
    return []; // statically linked
  }
  return output
    .split('\n')
    .map((line) => line.match(/(\/\S+) \(0x/)?.[1])
    .filter(Boolean);
}

/**
 * The app in the image: its files, and node_modules installed by npm from the packed @crac
 * packages (pnpm pack, as published) and the registry's express and pg, with its own libraries'
 * native programs (crac.node...) checked against the host's ldd too.
 */
function installApp(root, app, packs) {
  mkdirSync(packs);
  const pnpm = ['--yes', JSON.parse(readFileSync(join(paths.root, 'package.json'), 'utf8')).packageManager];
  const tarballs = {};
  const versions = {};
  for (const name of PACKED) {
    const manifest = JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8'));
    execFileSync('npx', [...pnpm, 'pack', '--pack-destination', packs], { cwd: packageDir(name), stdio: 'ignore' });
    tarballs[manifest.name] = join(packs, `${manifest.name.replace('@', '').replace('/', '-')}-${manifest.version}.tgz`);
    versions[manifest.name] = manifest.version;
  }
  const target = join(root, IMAGE_PATHS.app);
  mkdirSync(target, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  for (const file of readdirSync(app)) {
    if (file === 'node_modules' || file === 'package.json') continue;
    cpSync(join(app, file), join(target, file), { recursive: true, filter: (source) => !source.split('/').includes('node_modules') });
  }
  const dependencies = { ...manifest.dependencies };
  for (const [name, tarball] of Object.entries(tarballs))
    if (name in dependencies || name === '@crac/cli') dependencies[name] = `file:${tarball}`;
  // every @crac/* package from its tarball wherever it is needed: the platform package (the
  // optional dependency of @crac/core that it is), the adapters the CLI depends on
  const overrides = Object.fromEntries(Object.entries(tarballs).map(([name, tarball]) => [name, `file:${tarball}`]));
  writeFileSync(join(target, 'package.json'), `${JSON.stringify({ ...manifest, dependencies, overrides }, null, 2)}\n`);
  execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--no-package-lock', '--install-links'], {
    cwd: target,
    stdio: 'ignore',
  });
  // package.json back to what the app ships (its dependencies by version)
  writeFileSync(
    join(target, 'package.json'),
    `${JSON.stringify({ ...manifest, dependencies: publishedDependencies(manifest.dependencies, versions) }, null, 2)}\n`,
  );
  const cli = join(IMAGE_PATHS.app, 'node_modules', '@crac', 'cli', 'bin', 'crac');
  if (!existsSync(join(root, cli))) throw new Error(`npm install left no ${cli} in the image`);
  symlinkSync(relative(dirname(IMAGE_PATHS.crac), cli), join(root, IMAGE_PATHS.crac));
  for (const program of ['crac.node', 'crac-guard', 'crac-init', 'crac-restore', 'crac-seal', 'crac-nouring.so']) {
    const built = join(root, IMAGE_PATHS.app, 'node_modules', '@crac', 'core-linux-x64-gnu', program);
    if (!existsSync(built)) throw new Error(`npm install left no ${program} of @crac/core-linux-x64-gnu in the image`);
    for (const library of librariesOf(built)) {
      const realLibrary = realpathSync(library);
      if (!existsSync(join(root, realLibrary))) copyInto(root, realLibrary, realLibrary);
    }
  }
}

/** The app's dependencies as it ships them: the packed packages by their version, @crac/cli added. */
function publishedDependencies(dependencies, versions) {
  const published = { ...dependencies, '@crac/cli': versions['@crac/cli'] };
  for (const name of Object.keys(published)) if (name in versions) published[name] = versions[name];
  return published;
}
