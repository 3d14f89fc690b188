import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireNativeProgram } from './programs.js';

// crac-init --listen without CRIU: a stand-in "criu" records the arguments it got and what its
// inherited descriptor is, then fails (crac-init exits 125). Real restores: test/listen-handover.e2e.test.ts.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

interface Run {
  status: number | null;
  stderr: string;
  /** The arguments the stand-in CRIU got after crac-init's own. */
  criuArgs: string[];
  /** What the inherited descriptor of each `--inherit-fd fd[K]:...` is, and the listeners seen then. */
  inherited: string[];
  listening: string;
  listening6: string;
}

function runInit(listen: string[], env: Record<string, string> = {}): Run {
  const dir = mkdtempSync(join(tmpdir(), 'crac-init-listen-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const criu = join(dir, 'criu');
  writeFileSync(
    criu,
    `#!/bin/sh
printf '%s\\n' "$@" > ${dir}/args
for arg in "$@"; do
  case "$arg" in fd\\[*) n=\${arg#fd[}; n=\${n%%]*}; readlink /proc/$$/fd/$n >> ${dir}/inherited;; esac
done
cat /proc/net/tcp > ${dir}/tcp
cat /proc/net/tcp6 > ${dir}/tcp6
exit 1
`,
  );
  chmodSync(criu, 0o700);
  const args = [...listen.flatMap((spec) => ['--listen', spec]), '--pidfile', join(dir, 'pid'), '--', criu, 'restore', '-d'];
  const result = spawnSync(requireNativeProgram('init'), args, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch {
      return '';
    }
  };
  return {
    status: result.status,
    stderr: result.stderr,
    criuArgs: read('args').split('\n').filter(Boolean),
    inherited: read('inherited').split('\n').filter(Boolean),
    listening: read('tcp'),
    listening6: read('tcp6'),
  };
}

/** Whether /proc/net/tcp (as read by the stand-in) shows a listener on 127.0.0.1:`port`. */
function listensOn(tcp: string, port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return tcp.split('\n').some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[1] === local && fields[3] === '0A';
  });
}

describe('crac-init --listen', () => {
  it('binds the port before CRIU runs and puts the socket in place of the slot file', async () => {
    const port = await freePort();
    const run = runInit([`host=127.0.0.1,port=${port},env=PORT,was=${port},slot=/images/app/crac-listen-0`], { PORT: String(port) });
    expect(run.status, run.stderr).toBe(125);
    const at = run.criuArgs.indexOf('--inherit-fd');
    expect(run.criuArgs.slice(0, 2)).toEqual(['restore', '-d']);
    expect(run.criuArgs[at + 1]).toMatch(/^fd\[\d+\]:images\/app\/crac-listen-0$/);
    expect(run.inherited).toEqual([expect.stringMatching(/^socket:\[\d+\]$/)]);
    expect(listensOn(run.listening, port)).toBe(true);
  });

  it('binds an IPv6 address (::1) as well', async () => {
    const port = await freePort();
    const run = runInit([`host=::1,port=${port},slot=/i/crac-listen-0`]);
    expect(run.status, run.stderr).toBe(125);
    expect(run.inherited).toEqual([expect.stringMatching(/^socket:\[\d+\]$/)]);
    // /proc/net/tcp6: ::1 is 31 zeros and a 1 (as four little-endian words), state 0A (LISTEN)
    const local = `${'0'.repeat(24)}01000000:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    expect(run.listening6.split('\n').some((line) => line.includes(` ${local} `) && line.trim().split(/\s+/)[3] === '0A')).toBe(true);
  });

  it('follows a changed port variable, and keeps the port when the variable is unchanged or not followed', async () => {
    const [port, moved] = [await freePort(), await freePort()];
    const follows = runInit([`host=127.0.0.1,port=${port},env=PORT,was=${port},slot=/i/crac-listen-0`], { PORT: String(moved) });
    expect(listensOn(follows.listening, moved)).toBe(true);
    expect(listensOn(follows.listening, port)).toBe(false);
    // no env= (the server did not follow PORT at the checkpoint): the recorded port
    const fixed = runInit([`host=127.0.0.1,port=${port},slot=/i/crac-listen-0`], { PORT: String(moved) });
    expect(listensOn(fixed.listening, port)).toBe(true);
    // unset at the checkpoint (no was=), set now: followed
    const unset = runInit([`host=127.0.0.1,port=${port},env=PORT,slot=/i/crac-listen-0`], { PORT: String(moved) });
    expect(listensOn(unset.listening, moved)).toBe(true);
  });

  it('binds nothing when the port is taken or the variable is not a port: /dev/null in the slot, the app listens itself and says why', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => squatter.close(resolve)));
    const taken = (squatter.address() as AddressInfo).port;
    const run = runInit([`host=127.0.0.1,port=${taken},slot=/i/crac-listen-0`]);
    expect(run.status, run.stderr).toBe(125);
    expect(run.stderr).not.toContain('listen');
    // CRIU could not open the slot file by its dump-time name: /dev/null takes its place
    expect(run.criuArgs[run.criuArgs.indexOf('--inherit-fd') + 1]).toMatch(/^fd\[\d+\]:i\/crac-listen-0$/);
    expect(run.inherited).toEqual(['/dev/null']);
    const notAPort = runInit([`host=127.0.0.1,port=${await freePort()},env=PORT,was=1,slot=/i/crac-listen-0`], { PORT: 'eighty' });
    expect(notAPort.inherited).toEqual(['/dev/null']);
  });

  it('refuses a malformed --listen as a usage error (exit 2)', () => {
    for (const spec of [
      'host=127.0.0.1,port=3000',
      'port=3000,slot=/s',
      'host=127.0.0.1,port=0,slot=/s',
      'host=h,port=1,mode=x,slot=/s',
      'host=h,port=1,slot=relative',
    ]) {
      expect(runInit([spec]).status, spec).toBe(2);
    }
  });
});
