// A Next.js app (examples/nextjs: app router, `next build` by the set-up) with no line of crac
// code, with real CRIU on each Node: `npm start` (next start) and `output: 'standalone'`'s
// `node server.js`, checkpointed after a warm-up and restored on another PORT, where it renders
// with the restoring environment.
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { processState } from '@crac/core/protocol';
import { paths } from '@crac/tools/paths';
import { canConnect, freePort, waitForPort } from '@crac/tools/ports';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertRealCriuHost, crac, FIXTURES, imageDir, NODES, type NodeUnderTest, testDir } from './helpers/harness.js';

const APP = join(paths.examples, 'nextjs');
const STANDALONE = join(APP, '.next', 'standalone', 'examples', 'nextjs');
const WARMUP = join(FIXTURES, 'http-warmup.cjs');

beforeAll(() => {
  assertRealCriuHost();
  for (const built of [join(APP, '.next', 'BUILD_ID'), join(STANDALONE, 'server.js')])
    if (!existsSync(built)) throw new Error(`the Next.js example is not built: ${built} is missing (pnpm bootstrap runs next build)`);
});

/** PATH on which `node` (and so npm and next) is the Node under test. */
function pathWith(node: NodeUnderTest): string {
  const bin = testDir('crac-node-bin-');
  symlinkSync(node.bin, join(bin, 'node'));
  return `${bin}:${process.env.PATH}`;
}

async function get(port: number, path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, text: await response.text() };
}

describe.each(NODES)('Next.js with real CRIU on $name', (node) => {
  it.each([
    ['next start, started with npm start', APP, ['npm', 'start']],
    ["output: 'standalone', started with node server.js", STANDALONE, ['node', 'server.js']],
  ])(
    '%s: checkpointed with no crac code, restored on another PORT, renders with the restoring environment',
    async (_name, cwd, command) => {
      const dir = imageDir();
      const port = await freePort();
      const env = { PATH: pathWith(node), PORT: String(port), HOSTNAME: '127.0.0.1', NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' };
      const made = crac(
        ['checkpoint', '--to', dir, '--warmup', `${process.execPath} ${WARMUP} ${port} 200`, '--', ...(command as string[])],
        {
          cwd: cwd as string,
          stdout: 'file',
          env,
        },
      );
      expect((await made.exited).code, made.output()).toBe(0);
      expect(made.output()).toMatch(/crac: checkpoint .*dumped/);
      const app = Number(/crac: start .* pid (\d+)/.exec(made.output())?.[1]);
      expect(processState(app)).not.toBe('alive');

      const other = await freePort();
      const greeting = `a copy on ${node.id}`;
      const copy = crac(['restore', dir], { stdout: 'file', env: { ...env, PORT: String(other), GREETING: greeting } });
      await waitForPort(other, copy);
      const hello = await get(other, '/api/hello');
      expect(hello.status, copy.output()).toBe(200);
      expect(JSON.parse(hello.text)).toEqual({ framework: 'next', pid: app, port: String(other), greeting });
      const page = await get(other, '/');
      expect(page.status).toBe(200);
      expect(page.text).toContain(`Hello from <!-- -->${greeting}`);
      expect(await canConnect(port)).toBe(false);
    },
  );
});
