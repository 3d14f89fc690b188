import { chmodSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  assertCriuCapabilities,
  capabilityName,
  CRIU_GROUP,
  criuCapabilityStatus,
  criuRunsUnprivileged,
  decodeFileCapabilities,
  effectiveCapabilities,
  grantCapabilitiesCommand,
  noNewPrivileges,
  UNPRIVILEGED_CRIU_CAPABILITIES,
} from './capabilities.js';
import { grantCriuCapabilities, restrictToCriuGroup, whoMayRunCriu } from './grant.js';

/** `getfattr -n security.capability` of CRIU after `setcap cap_checkpoint_restore,cap_setpcap+ep`: revision 2, effective. */
const GRANTED = Buffer.from('0100000200010000000000000001000000000000', 'hex');
/** The same with only cap_checkpoint_restore (bit 40: word 1, bit 8). */
const ONLY_CHECKPOINT_RESTORE = Buffer.from('0100000200000000000000000001000000000000', 'hex');
/** Revision 2 without the effective flag (`setcap ...+p`). */
const NOT_EFFECTIVE = Buffer.from('0000000200010000000000000001000000000000', 'hex');

const reader = (value: Buffer | null) => () => value;
/** A non-root user. */
const USER = { euid: 1000, status: 'Name:\tnode\nNoNewPrivs:\t0\n' };
/** CapEff of the host's root: every capability. */
const HOST_ROOT = '000001ffffffffff';
/** CapEff of root in a podman 4 container: chown dac_override fowner fsetid kill setgid setuid setpcap net_bind_service sys_chroot setfcap. */
const PODMAN_DEFAULTS = '00000000800405fb';
/** The same with --cap-add CHECKPOINT_RESTORE (bit 40). */
const PODMAN_DEFAULTS_WITH_CHECKPOINT_RESTORE = '00000100800405fb';
const status = (capEff: string) => `Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t${capEff}\nNoNewPrivs:\t0\n`;

describe('file capabilities', () => {
  it('decodes what setcap writes: revisions 1, 2 and 3', () => {
    expect(decodeFileCapabilities(GRANTED)).toEqual({
      permitted: ['cap_setpcap', 'cap_checkpoint_restore'],
      inheritable: [],
      effective: true,
    });
    const v3 = Buffer.concat([Buffer.from('01000003', 'hex'), GRANTED.subarray(4), Buffer.from('e8030000', 'hex')]);
    expect(decodeFileCapabilities(v3)).toMatchObject({ permitted: ['cap_setpcap', 'cap_checkpoint_restore'], rootUid: 1000 });
    // revision 1: one word; cap_net_raw (13) inheritable
    const v1 = Buffer.from('000000010000000000200000', 'hex');
    expect(decodeFileCapabilities(v1)).toEqual({ permitted: [], inheritable: ['cap_net_raw'], effective: false });
    expect(capabilityName(63)).toBe('cap_63');
  });

  it('refuses a value no kernel writes', () => {
    expect(() => decodeFileCapabilities(Buffer.from('0100000200', 'hex'))).toThrow(expect.objectContaining({ code: 'CRAC_EIO' }));
    expect(() => decodeFileCapabilities(Buffer.from(`09000000${'00'.repeat(16)}`, 'hex'))).toThrow(/magic 0x9/);
  });

  it('names what an unprivileged CRIU lacks: nothing granted, one missing, or granted but not effective', () => {
    const all = UNPRIVILEGED_CRIU_CAPABILITIES.map(({ name }) => name);
    expect(all).toEqual(['cap_checkpoint_restore', 'cap_setpcap']);
    const names = (value: Buffer | null) => criuCapabilityStatus('/criu', reader(value)).missing.map(({ name }) => name);
    expect(names(GRANTED)).toEqual([]);
    expect(names(null)).toEqual(all);
    expect(names(ONLY_CHECKPOINT_RESTORE)).toEqual(['cap_setpcap']);
    expect(names(NOT_EFFECTIVE)).toEqual(all);
  });

  it('refuses an unprivileged run with the missing capabilities and the command that grants them', () => {
    expect(() => assertCriuCapabilities('/opt/criu', reader(GRANTED), USER)).not.toThrow();
    let error: unknown;
    try {
      assertCriuCapabilities('/opt/criu', reader(ONLY_CHECKPOINT_RESTORE), USER);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'CRAC_ECRIU_CAPS', missing: ['cap_setpcap'] });
    expect((error as Error).message).toContain('setcap cap_checkpoint_restore,cap_setpcap+ep /opt/criu');
    expect(grantCapabilitiesCommand('/x/criu')).toBe('setcap cap_checkpoint_restore,cap_setpcap+ep /x/criu');
  });

  it("runs a container's root (no cap_sys_admin) unprivileged, checking its own capabilities, not the binary's", () => {
    expect(criuRunsUnprivileged(USER)).toBe(true);
    expect(criuRunsUnprivileged({ euid: 0, status: status(HOST_ROOT) })).toBe(false);
    expect(criuRunsUnprivileged({ euid: 0, status: '' })).toBe(false); // unreadable: as root always was
    const containerRoot = { euid: 0, status: status(PODMAN_DEFAULTS_WITH_CHECKPOINT_RESTORE) };
    expect(criuRunsUnprivileged(containerRoot)).toBe(true);
    expect(effectiveCapabilities(containerRoot.status)).toContain('cap_checkpoint_restore');
    // no file capabilities needed: the process's own count
    expect(() => assertCriuCapabilities('/opt/criu', reader(null), containerRoot)).not.toThrow();
    expect(() => assertCriuCapabilities('/opt/criu', reader(GRANTED), { euid: 0, status: status(PODMAN_DEFAULTS) })).toThrow(
      expect.objectContaining({
        code: 'CRAC_ECRIU_CAPS',
        missing: ['cap_checkpoint_restore'],
        message: expect.stringContaining('--cap-add CHECKPOINT_RESTORE'),
      }),
    );
  });

  it('sees no_new_privs, under which exec ignores file capabilities', () => {
    expect(noNewPrivileges('Name:\tnode\nNoNewPrivs:\t1\nSeccomp:\t0\n')).toBe(true);
    expect(noNewPrivileges('Name:\tnode\nNoNewPrivs:\t0\n')).toBe(false);
    expect(noNewPrivileges('')).toBe(false);
  });
});

describe('grantCriuCapabilities', () => {
  const dirs: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const asRoot = () => vi.spyOn(process, 'geteuid').mockReturnValue(0);

  it('needs root', () => {
    vi.spyOn(process, 'geteuid').mockReturnValue(1000);
    expect(() => grantCriuCapabilities('/usr/bin/true')).toThrow(expect.objectContaining({ code: 'CRAC_EUNPRIVILEGED' }));
  });

  it('refuses a binary that someone else than root could replace', () => {
    asRoot();
    expect(() => grantCriuCapabilities('criu')).toThrow(expect.objectContaining({ code: 'CRAC_EINVAL' }));
    const dir = mkdtempSync(join(tmpdir(), 'crac-grant-'));
    dirs.push(dir);
    const criu = join(dir, 'criu');
    writeFileSync(criu, '#!/bin/sh\n', { mode: 0o755 });
    chmodSync(dir, 0o777); // anybody could rename it and put another program in its place
    expect(() => grantCriuCapabilities(criu, { setcap: '/bin/true', readXattr: reader(GRANTED) })).toThrow(
      /is not root's alone .*mode 777/,
    );
  });

  it('restricts the file links lead to to the group crac, then runs setcap, then reads the capabilities back', () => {
    asRoot();
    // /bin/sh: root's, in directories only root can write, on every Linux (its group and mode left alone)
    const restricted: string[] = [];
    const restrict = (path: string) => {
      restricted.push(path);
      return CRIU_GROUP;
    };
    const result = grantCriuCapabilities('/bin/sh', { setcap: '/bin/true', readXattr: reader(GRANTED), restrict });
    expect(restricted).toEqual([realpathSync('/bin/sh')]);
    expect(result).toMatchObject({ capabilities: ['cap_setpcap', 'cap_checkpoint_restore'], group: 'crac' });
    expect(result.command).toMatch(/^\/bin\/true cap_checkpoint_restore,cap_setpcap\+ep \//);
    expect(() => grantCriuCapabilities('/bin/sh', { setcap: '/bin/true', readXattr: reader(null), restrict })).toThrow(
      expect.objectContaining({ code: 'CRAC_ECRIU_CAPS' }),
    );
    expect(() => grantCriuCapabilities('/bin/sh', { setcap: '/bin/false', readXattr: reader(GRANTED), restrict })).toThrow(
      expect.objectContaining({ code: 'CRAC_EENGINE' }),
    );
  });

  it('refuses a path with no CRIU binary there, with a coded error, before any group is made', () => {
    expect(() => restrictToCriuGroup('/nonexistent/criu')).toThrow(expect.objectContaining({ code: 'CRAC_EINVAL' }));
    expect(() => restrictToCriuGroup('/usr')).toThrow(expect.objectContaining({ code: 'CRAC_EINVAL' }));
    expect(() => whoMayRunCriu('/nonexistent/criu')).toThrow(expect.objectContaining({ code: 'CRAC_EINVAL' }));
    expect(whoMayRunCriu('/bin/sh')).toMatchObject({ everyone: true }); // 0755
  });

  it("names the group crac-node's setup script installs CRIU for", () => {
    // the script is shell: it cannot import the constant, so it keeps a copy this test compares
    const script = readFileSync(
      join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'cli', 'scripts', 'setup-criu.sh'),
      'utf8',
    );
    expect(/^CRIU_GROUP=(\S+)$/m.exec(script)?.[1]).toBe(CRIU_GROUP);
  });
});
