// The readers of tools/container-timing.mjs: podman's StartedAt, and crac restore's phase lines.
import { restorePhases, startedAtMs } from '@crac/tools/container-timing';
import { describe, expect, it } from 'vitest';

describe('container timing', () => {
  it("reads podman's StartedAt to the sub-millisecond, in its time zone", () => {
    expect(startedAtMs('2026-12-06 18:30:00.123456789 +0000 UTC\n')).toBeCloseTo(Date.UTC(2026, 11, 6, 18, 30, 0) + 123.456789, 6);
    expect(startedAtMs('2026-12-06 19:30:00 +0100 CET')).toBe(Date.UTC(2026, 11, 6, 18, 30, 0));
    expect(() => startedAtMs('0001-01-01T00:00:00Z')).toThrow(/StartedAt this does not read/);
  });

  it("reads crac restore's verify and restore phases from a container's log, and says when there are none", () => {
    const log = [
      'crac: verify            2.5 ms  25 files as sealed, 24 hashed (29 KiB), 1 page file (16.0 MiB) while CRIU restores',
      'crac: restore         188.6 ms  pid 301, page files hashed alongside in 17.0 ms',
      '{"event":"after-restore"}',
    ].join('\n');
    expect(restorePhases(log)).toEqual({ verifyMs: 2.5, restoreMs: 188.6 });
    expect(restorePhases('{"event":"listening","port":3000}')).toEqual({ verifyMs: undefined, restoreMs: undefined });
  });
});
