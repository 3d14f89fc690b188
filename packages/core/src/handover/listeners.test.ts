import { closeSync, openSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../errors.js';
import { handOver, takeBack } from './listeners.js';

afterEach(() => vi.restoreAllMocks());

describe('handOver', () => {
  it('says so (CRAC_ELISTEN) when no holder can keep the socket: the server closes it and listens anew after', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    // not a listening socket: the native holder refuses it, as it would fail to start
    const fd = openSync('/dev/null', 'r');
    try {
      const handed = handOver(fd, { host: '127.0.0.1', port: 3000 });
      expect(handed.holder).toBeUndefined();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]?.[0]).toContain('the listening socket on 127.0.0.1:3000 cannot be held through the checkpoint');
      expect(warn.mock.calls[0]?.[1]).toMatchObject({ code: ErrorCode.LISTEN });
      expect(takeBack(handed, false)).toBeUndefined();
    } finally {
      closeSync(fd);
    }
  });
});

describe('takeBack', () => {
  it('says so (CRAC_ELISTEN) when the holder does not give the socket back: the server listens anew', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    expect(takeBack({ address: { host: '127.0.0.1', port: 3000 }, holder: 'crac-no-such-holder' }, false)).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toContain('the listening socket on 127.0.0.1:3000 was not taken back after the checkpoint');
    expect(warn.mock.calls[0]?.[0]).toContain('cannot reach the listener holder');
    expect(warn.mock.calls[0]?.[1]).toMatchObject({ code: ErrorCode.LISTEN });
  });
});
