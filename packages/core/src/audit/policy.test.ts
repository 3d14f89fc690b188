import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { resolveAuditMode, resolvePolicy } from './policy.js';
import { formatAddress } from './proc-net.js';

describe('resolvePolicy', () => {
  it('refuses by default, except child processes (CRIU saves them)', () => {
    const policy = resolvePolicy(undefined, {});
    expect(policy('tcp-socket')).toBe('refuse');
    expect(policy('child-process')).toBe('ignore');
  });

  it('takes one policy for all, or one per kind, from the option or CRAC_UNRELEASED', () => {
    expect(resolvePolicy('close', {})('file')).toBe('close');
    expect(resolvePolicy('close', {})('child-process')).toBe('ignore');
    const perKind = resolvePolicy({ 'tcp-socket': 'close', default: 'ignore', 'child-process': 'refuse' }, {});
    expect([perKind('tcp-socket'), perKind('file'), perKind('child-process')]).toEqual(['close', 'ignore', 'refuse']);
    const fromEnv = resolvePolicy(undefined, { CRAC_UNRELEASED: 'tcp-socket=close, file=ignore' });
    expect([fromEnv('tcp-socket'), fromEnv('file'), fromEnv('pipe')]).toEqual(['close', 'ignore', 'refuse']);
    expect(resolvePolicy('ignore', { CRAC_UNRELEASED: 'close' })('file')).toBe('ignore');
  });

  it('rejects unknown kinds and policies with CRAC_EINVAL', () => {
    expect(() => resolvePolicy({ sockets: 'close' } as never, {})).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => resolvePolicy(undefined, { CRAC_UNRELEASED: 'shut' })).toThrow(/unknown policy "shut"/);
  });
});

describe('resolveAuditMode', () => {
  it('enforces for engines that make an image, reports for the simulate engine', () => {
    expect(resolveAuditMode(undefined, 'criu', {})).toBe('enforce');
    expect(resolveAuditMode(undefined, 'simulate', {})).toBe('report');
    expect(resolveAuditMode(undefined, 'simulate', { CRAC_AUDIT: 'enforce' })).toBe('enforce');
    expect(() => resolveAuditMode('strict' as never, 'criu', {})).toThrow(/unknown mode/);
  });
});

describe('formatAddress', () => {
  it('reads /proc/net addresses', () => {
    expect(formatAddress('0100007F:1F90')).toBe('127.0.0.1:8080');
    expect(formatAddress('00000000000000000000000001000000:0050')).toBe('[::1]:80');
    expect(formatAddress('0000000000000000FFFF00000100007F:18EB')).toBe('127.0.0.1:6379');
    expect(formatAddress('00000000000000000000000000000000:0BB8')).toBe('[::]:3000');
  });
});
