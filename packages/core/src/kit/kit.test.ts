import { describe, expect, it } from 'vitest';
import { CheckpointError, Context, checkpointRestore, Priority, type RegisterOptions, type Resource } from '../index.js';
import { createSimulateEngine } from '../testing.js';
import { claimOnce, type Engine, expectShape, Gate, type Outstanding, type PoolAdapterOptions, suspendable, waitUntil } from './index.js';

describe('Gate', () => {
  it('lets callers through while open and holds them, in order, while closed', async () => {
    const gate = new Gate();
    const order: string[] = [];
    expect(gate.call(() => 1)).toBe(1);
    gate.close();
    gate.run(() => order.push('a'));
    const b = gate.call(async () => {
      order.push('b');
      return 'b';
    });
    const c = gate.call(() => {
      throw new Error('c failed');
    });
    expect(gate.heldCount).toBe(3);
    expect(order).toEqual([]);
    gate.open();
    expect(order).toEqual(['a', 'b']);
    await expect(b).resolves.toBe('b');
    await expect(c).rejects.toThrow('c failed');
    expect(gate.isOpen).toBe(true);
  });

  it('refuses the held callers when told to, each its own way, and opens', async () => {
    const gate = new Gate();
    gate.close();
    const refused: string[] = [];
    const promised = gate.call(() => 'never');
    gate.run(
      () => refused.push('ran'),
      (error) => refused.push(error.message),
    );
    gate.refuseHeld(new Error('not here'));
    await expect(promised).rejects.toThrow('not here');
    expect(refused).toEqual(['not here']);
    expect(gate.isOpen).toBe(true);
    expect(gate.heldCount).toBe(0);
  });

  it('keeps the rest held when a released caller closes it again', () => {
    const gate = new Gate();
    const ran: number[] = [];
    gate.close();
    gate.run(() => {
      ran.push(1);
      gate.close();
    });
    gate.run(() => ran.push(2));
    gate.open();
    expect(ran).toEqual([1]);
    expect(gate.heldCount).toBe(1);
    gate.open();
    expect(ran).toEqual([1, 2]);
  });
});

describe('waitUntil', () => {
  it('resolves true when the condition holds, false after the timeout', async () => {
    let done = false;
    setTimeout(() => {
      done = true;
    }, 30);
    await expect(waitUntil(() => done, { timeoutMs: 5_000 })).resolves.toBe(true);
    await expect(waitUntil(() => false, { timeoutMs: 30 })).resolves.toBe(false);
  });
});

describe('claimOnce', () => {
  it('claims an object once per tag, invisibly', () => {
    const pool = {};
    expect(claimOnce(pool, 'a', 1)).toBeUndefined();
    expect(claimOnce(pool, 'a', 2)).toBe(1);
    expect(claimOnce(pool, 'b', 3)).toBeUndefined();
    expect(Object.keys(pool)).toEqual([]);
  });
});

describe('expectShape', () => {
  it('returns an object whose members have the given types, nested ones too, and refuses anything else', () => {
    const pool = { acquire() {}, size: 1, _config: { min: 0 } };
    const members = { acquire: 'function', size: 'number', '_config.min': 'number' } as const;
    expect(expectShape<typeof pool>(pool, members, 'not a pool')).toBe(pool);
    for (const value of [null, undefined, 42, () => {}, {}, { ...pool, size: '1' }, { ...pool, _config: null }, { ...pool, _config: {} }]) {
      expect(() => expectShape(value, members, 'takes a pool')).toThrow(
        expect.objectContaining({ code: 'CRAC_EINVAL', message: 'takes a pool' }),
      );
    }
  });
});

/** A pool as adapters see one: borrowers go through a gated borrow(), some stay out. */
function fakePool(options: PoolAdapterOptions, outstanding: Partial<Outstanding> = {}) {
  const pool = { out: 0, idle: 2, url: 'before', destroyed: 0, log: [] as string[] };
  const suspension = suspendable({
    target: pool,
    tag: '@crac/test',
    options,
    defaultName: 'fake pool',
    outstanding: { count: () => pool.out, what: 'client', ...outstanding },
    async release({ waitForOutstanding }) {
      pool.log.push('release');
      await waitForOutstanding();
      pool.idle = 0;
    },
    resume() {
      pool.log.push('resume');
      pool.url = 'after';
    },
    afterOpen: () => void pool.log.push('open'),
  });
  const borrow = () => Promise.resolve(suspension?.gate.call(() => pool.url));
  return { pool, suspension, borrow };
}

describe('suspendable', () => {
  it('holds borrowers from the checkpoint to the restore, waits for what is out, releases and resumes in order', async () => {
    const context = new Context();
    const { pool, borrow } = fakePool({ context });
    pool.out = 1;
    setTimeout(() => {
      pool.out = 0;
    }, 50);
    let held: Promise<string | undefined> | undefined;
    let during: unknown;
    await checkpointRestore({
      context,
      engine: createSimulateEngine({
        onCheckpoint: () => {
          held = borrow();
          during = { idle: pool.idle, log: [...pool.log] };
        },
      }),
    });
    expect(during).toEqual({ idle: 0, log: ['release'] });
    expect(pool.log).toEqual(['release', 'resume', 'open']);
    await expect(held).resolves.toBe('after');
  });

  it('in a copy restored from a leave-running checkpoint, refuses what was held (the original runs it)', async () => {
    const context = new Context();
    const { borrow } = fakePool({ context });
    let held: Promise<string | undefined> | undefined;
    // an engine whose process comes back as a restored copy of a leave-running checkpoint
    const restoredCopy: Engine = {
      name: 'restored-copy',
      checkpoint: async () => {
        held = borrow();
        return { outcome: 'restored' };
      },
    };
    await checkpointRestore({ context, engine: restoredCopy, leaveRunning: true, audit: 'off' });
    await expect(held).rejects.toMatchObject({
      code: 'CRAC_EHELD',
      message: expect.stringMatching(/1 call held .* refused in this restored copy/),
    });
    // the original (left running) runs it
    const original: Engine = {
      name: 'original',
      checkpoint: async () => {
        held = borrow();
        return { outcome: 'checkpointed' };
      },
    };
    await checkpointRestore({ context, engine: original, leaveRunning: true, audit: 'off' });
    await expect(held).resolves.toBe('after');
  });

  it('refuses after timeoutMs with CRAC_EBORROWED naming the resource and the count; the gate opens again', async () => {
    const context = new Context();
    const { pool, borrow } = fakePool({ context, name: 'orders db', timeoutMs: 50 }, { hint: 'a connect() without release()' });
    pool.out = 2;
    const error = await checkpointRestore({ context, engine: 'simulate' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    const cause = (error as CheckpointError).errors[0]?.cause as Error & { code: string };
    expect(cause.code).toBe('CRAC_EBORROWED');
    expect(cause.message).toBe(
      'orders db: 2 clients are still borrowed after 50 ms (a connect() without release()); release them, raise timeoutMs, or set onTimeout: "destroy"',
    );
    expect(pool.idle).toBe(2); // release stopped at the wait
    await expect(borrow()).resolves.toBe('after');
  });

  it('words calls in flight, and names countInError() when given', async () => {
    const context = new Context();
    const { pool } = fakePool({ context, name: 'reports', timeoutMs: 20 }, { what: 'call', state: 'in flight', countInError: () => 1 });
    pool.out = 3;
    const error = await checkpointRestore({ context, engine: 'simulate' }).catch((e: unknown) => e);
    expect((error as CheckpointError).errors[0]?.cause.message).toBe(
      'reports: 1 call is still in flight after 20 ms; raise timeoutMs or set onTimeout: "destroy"',
    );
  });

  it('with onTimeout "destroy", destroys what is out and goes on', async () => {
    const context = new Context();
    const { pool } = fakePool(
      { context, timeoutMs: 20, onTimeout: 'destroy' },
      {
        async destroy() {
          pool.destroyed = pool.out;
          pool.out = 0;
        },
      },
    );
    pool.out = 2;
    await checkpointRestore({ context, engine: 'simulate' });
    expect(pool.destroyed).toBe(2);
    expect(pool.idle).toBe(0);
  });

  it('checks the options', () => {
    const cases: [unknown, RegExp][] = [
      [{ timeoutMs: 0 }, /timeoutMs must be a positive number, got 0/],
      [{ timeoutMs: -1 }, /timeoutMs/],
      [{ timeoutMs: Number.NaN }, /timeoutMs/],
      [{ timeoutMs: Number.POSITIVE_INFINITY }, /timeoutMs/],
      [{ timeoutMs: '100' }, /timeoutMs/],
      [{ onTimeout: 'close' }, /onTimeout must be 'fail' or 'destroy'/],
      [{ name: '' }, /name must be a non-empty string/],
      [{ name: 42 }, /name/],
      [{ context: {} }, /context must be a Context/],
      ['fast', /options must be an object/],
    ];
    for (const [options, message] of cases) {
      expect(() => fakePool(options as PoolAdapterOptions), JSON.stringify(options)).toThrow(message);
      expect(() => fakePool(options as PoolAdapterOptions)).toThrow(expect.objectContaining({ code: 'CRAC_EINVAL' }));
    }
  });

  it('claims a target once, registers at Priority.CONNECTION with a margin over timeoutMs, and can unregister', () => {
    const registered: RegisterOptions[] = [];
    const context = new Context();
    const spy = {
      register: (resource: Resource, options: RegisterOptions = {}) => {
        registered.push({ name: resource.name, ...options });
        return context.register(resource, options);
      },
    } as unknown as Context;
    const target = {};
    const spec = { target, tag: '@crac/test', options: { context: spy }, defaultName: 'thing', release: async () => {} };
    const first = suspendable(spec);
    expect(first).toMatchObject({ name: 'thing', timeoutMs: 10_000 });
    expect(suspendable(spec)).toBeUndefined();
    expect(suspendable({ ...spec, tag: '@crac/other', options: { context: spy, name: 'other', timeoutMs: 500 } })).toBeDefined();
    expect(registered).toEqual([
      { name: 'thing', priority: Priority.CONNECTION, timeoutMs: 20_000 },
      { name: 'other', priority: Priority.CONNECTION, timeoutMs: 10_500 },
    ]);
    expect(context.size).toBe(2);
    first?.unregister();
    expect(context.size).toBe(1);
    // no target: a handle that made what it wraps, registered each time
    const handle = suspendable({ options: { context }, defaultName: 'handle', release: async () => {} });
    expect(handle.name).toBe('handle');
    expect(context.size).toBe(2);
  });
});
