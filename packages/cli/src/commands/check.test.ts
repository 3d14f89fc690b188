import { describe, expect, it } from 'vitest';
import { type IoUringProbe, ioUringCheck, pidNamespaceCheck, probeIoUring, probePidNamespace } from './check.js';

const probe = (fields: Partial<IoUringProbe>): IoUringProbe => ({ sysctl: '0', node: 'v22.0.0', opens: true, ...fields });

describe('crac check: the io_uring row reports what was probed', () => {
  it('is ok when Node opens no io_uring, and says what the kernel allows', () => {
    expect(ioUringCheck(probe({ sysctl: '2', opens: false }))).toMatchObject({
      ok: true,
      detail: "Node v22.0.0 (this CLI's) opens none (kernel.io_uring_disabled=2: off for every process)",
    });
    expect(ioUringCheck(probe({ sysctl: '0', opens: false })).detail).toContain('Node 22+ opens one as it starts');
    expect(ioUringCheck(probe({ sysctl: undefined, opens: false })).detail).toContain('a kernel before 6.6');
  });

  it('is ok when Node opens one but none under crac-guard, and says the app must start under it', () => {
    const row = ioUringCheck(probe({ opens: true, opensUnderGuard: false }));
    expect(row.ok).toBe(true);
    expect(row.detail).toMatch(/opens one as it starts .*CRIU cannot dump it; under crac-guard it opens none/);
  });

  it('fails when Node opens one and the guard is missing, does not help, or cannot run', () => {
    expect(ioUringCheck(probe({ opensUnderGuard: undefined }))).toMatchObject({
      ok: false,
      detail: expect.stringContaining('no crac-guard'),
      fix: 'see the io_uring guard above',
    });
    expect(ioUringCheck(probe({ opensUnderGuard: true }))).toMatchObject({
      ok: false,
      detail: expect.stringContaining('even under crac-guard'),
      fix: expect.stringContaining('kernel.io_uring_disabled=2'),
    });
    expect(ioUringCheck(probe({ opensUnderGuard: { error: 'spawnSync EACCES' } })).detail).toContain(
      'crac-guard could not be run: spawnSync EACCES',
    );
    for (const row of [ioUringCheck(probe({ opensUnderGuard: undefined })), ioUringCheck(probe({ opensUnderGuard: true }))])
      expect(row.optional).toBeUndefined();
  });

  it('warns, and claims nothing, when the probe could not run', () => {
    expect(ioUringCheck(probe({ opens: { error: 'timed out' } }))).toMatchObject({
      ok: false,
      optional: true,
      detail: expect.stringContaining('could not see whether Node v22.0.0 opens one: timed out'),
    });
  });

  it('probes this Node for real, plainly and under a guard', () => {
    const found = probeIoUring(undefined);
    expect(typeof found.opens, JSON.stringify(found.opens)).toBe('boolean');
    expect(found.opensUnderGuard).toBeUndefined();
    // a "guard" that runs nothing: no answer, reported as such rather than as "opens none"
    expect(probeIoUring('/bin/false').opensUnderGuard).toEqual({ error: 'exit 1' });
  });
});

describe('crac check: the pid namespaces row reports what was probed', () => {
  it('is ok only when a pid namespace could be made', () => {
    expect(pidNamespaceCheck({ ok: true })).toMatchObject({ ok: true, detail: expect.stringContaining('can be made') });
  });

  it('fails, with the error and what to do, when it could not (root included)', () => {
    const row = pidNamespaceCheck({ ok: false, error: 'unshare: unshare failed: Operation not permitted' });
    expect(row).toMatchObject({ ok: false, detail: expect.stringContaining('Operation not permitted') });
    expect(row.optional).toBeUndefined();
    expect(row.fix).toContain('--pid-namespace never');
  });

  it('warns when nothing could try, and for an unprivileged run (which never uses one)', () => {
    expect(pidNamespaceCheck({ ok: undefined, error: 'no unshare command (util-linux) to try with' })).toMatchObject({
      ok: false,
      optional: true,
      detail: expect.stringContaining('not probed'),
    });
    expect(pidNamespaceCheck(undefined)).toMatchObject({ ok: false, optional: true, fix: expect.stringContaining('as root') });
  });

  it('probes for real: an answer either way', () => {
    const found = probePidNamespace();
    expect([true, false, undefined]).toContain(found.ok);
    if (found.ok !== true) expect(found.error).toBeTruthy();
  });
});
