import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  type CheckpointOptions,
  checkpointRestore,
  channels,
  Context,
  ErrorCode,
  getGlobalContext,
  type HookEndMessage,
  Priority,
  type Resource,
  ResourceError,
  RestoreError,
} from '../index.js';
import { createSimulateEngine } from '../testing.js';

/** A resource that records its hooks into a shared log. */
function recorder(log: string[], name: string, behaviour: Partial<Resource> = {}): Resource {
  return {
    name,
    beforeCheckpoint: async (context, signal) => {
      log.push(`before:${name}`);
      await behaviour.beforeCheckpoint?.(context, signal);
    },
    afterRestore: async (context, signal) => {
      log.push(`after:${name}`);
      await behaviour.afterRestore?.(context, signal);
    },
  };
}

function simulate(context: Context, options: CheckpointOptions = {}) {
  return checkpointRestore({ engine: 'simulate', context, ...options });
}

describe('order', () => {
  it('notifies in reverse registration order before, registration order after', async () => {
    const log: string[] = [];
    const context = new Context();
    for (const name of ['a', 'b', 'c']) context.register(recorder(log, name));
    await simulate(context);
    expect(log).toEqual(['before:c', 'before:b', 'before:a', 'after:a', 'after:b', 'after:c']);
  });

  it('puts entry points first before and last after, connections the other way round', async () => {
    const log: string[] = [];
    const context = new Context();
    context.register(recorder(log, 'server'), { priority: Priority.ENTRY_POINT });
    context.register(recorder(log, 'pool'), { priority: Priority.CONNECTION });
    context.register(recorder(log, 'cache'));
    await simulate(context);
    expect(log).toEqual(['before:server', 'before:cache', 'before:pool', 'after:pool', 'after:cache', 'after:server']);
  });
});

describe('failures', () => {
  it('notifies every resource when some throw, and aggregates named causes', async () => {
    const log: string[] = [];
    const context = new Context();
    context.register(recorder(log, 'a'));
    context.register({
      name: 'sync-thrower',
      beforeCheckpoint() {
        log.push('before:sync');
        throw new Error('sync boom');
      },
      afterRestore() {
        log.push('after:sync');
      },
    });
    context.register(recorder(log, 'async-thrower', { beforeCheckpoint: () => Promise.reject(new Error('async boom')) }));

    const error = await simulate(context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error).toBeInstanceOf(AggregateError);
    const checkpointError = error as CheckpointError;
    expect(checkpointError.code).toBe(ErrorCode.CHECKPOINT);
    expect(checkpointError.errors).toHaveLength(2);
    const causes = checkpointError.errors as ResourceError[];
    expect(causes.map((e) => e.resourceName)).toEqual(['async-thrower', 'sync-thrower']);
    expect(causes.every((e) => e instanceof ResourceError && e.code === ErrorCode.RESOURCE && e.phase === 'beforeCheckpoint')).toBe(true);
    expect(causes[0]?.cause).toHaveProperty('message', 'async boom');
    expect(checkpointError.message).toMatch(/async boom.*sync boom/);
    // every resource was notified before, and every one of them rolled back
    expect(log).toEqual(['before:async-thrower', 'before:sync', 'before:a', 'after:a', 'after:sync', 'after:async-thrower']);
  });

  it('rolls back in mirror order the resources already notified, and the app can checkpoint again', async () => {
    const log: string[] = [];
    const context = new Context();
    let fail = true;
    context.register(recorder(log, 'pool'));
    context.register(
      recorder(log, 'flaky', {
        beforeCheckpoint: () => {
          if (fail) throw new Error('not now');
        },
      }),
    );
    context.register(recorder(log, 'server'));
    await expect(simulate(context)).rejects.toThrow(CheckpointError);
    expect(log).toEqual(['before:server', 'before:flaky', 'before:pool', 'after:pool', 'after:flaky', 'after:server']);

    fail = false;
    log.length = 0;
    await expect(simulate(context)).resolves.toMatchObject({ outcome: 'simulated' });
    expect(log).toHaveLength(6);
  });

  it('reports rollback failures beside the cause', async () => {
    const context = new Context();
    context.register(recorder([], 'stuck', { afterRestore: () => Promise.reject(new Error('cannot reconnect')) }));
    context.register(recorder([], 'refuser', { beforeCheckpoint: () => Promise.reject(new Error('busy')) }));
    const error = (await simulate(context).catch((e: unknown) => e)) as CheckpointError;
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.rollbackErrors.map((e) => e.resourceName)).toEqual(['stuck']);
    expect(error.rollbackErrors[0]?.phase).toBe('afterRestore');
  });

  it('rolls every resource back when the engine fails, and keeps the engine error', async () => {
    const log: string[] = [];
    const context = new Context();
    context.register(recorder(log, 'a'));
    context.register(recorder(log, 'b'));
    const engine = createSimulateEngine({
      onCheckpoint: () => {
        throw new Error('disk full');
      },
    });
    const error = (await checkpointRestore({ engine, context }).catch((e: unknown) => e)) as CheckpointError;
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error.errors[0] as Error).message).toBe('disk full');
    expect(log).toEqual(['before:b', 'before:a', 'after:a', 'after:b']);
  });

  it('notifies every resource after restore when some fail, and says the process was checkpointed', async () => {
    const log: string[] = [];
    const context = new Context();
    context.register(recorder(log, 'a', { afterRestore: () => Promise.reject(new Error('a down')) }));
    context.register(recorder(log, 'b'));
    const error = (await simulate(context).catch((e: unknown) => e)) as RestoreError;
    expect(error).toBeInstanceOf(RestoreError);
    expect(error).toBeInstanceOf(AggregateError);
    expect(error.code).toBe(ErrorCode.RESTORE);
    expect(error.outcome).toBe('simulated');
    expect((error.errors as ResourceError[]).map((e) => [e.resourceName, e.phase])).toEqual([['a', 'afterRestore']]);
    expect(log).toEqual(['before:b', 'before:a', 'after:a', 'after:b']);
  });

  it('times a hook out with a coded error, and the cycle goes on', async () => {
    const log: string[] = [];
    const context = new Context();
    context.register(recorder(log, 'fast'));
    context.register(recorder(log, 'hangs', { beforeCheckpoint: () => new Promise(() => {}) }), { timeoutMs: 20 });
    const error = (await simulate(context).catch((e: unknown) => e)) as CheckpointError;
    expect(error).toBeInstanceOf(CheckpointError);
    const cause = (error.errors[0] as ResourceError).cause as Error & { code: string; timeoutMs: number };
    expect(cause.code).toBe(ErrorCode.TIMEOUT);
    expect(cause.timeoutMs).toBe(20);
    expect(cause.message).toMatch(/"hangs" did not finish within 20 ms/);
    expect(log).toEqual(['before:hangs', 'before:fast', 'after:fast', 'after:hangs']);
  });

  it('aborts the signal of a hook that timed out, and gives back only once it has settled', async () => {
    const log: string[] = [];
    const context = new Context();
    let aborted: unknown;
    context.register(
      recorder(log, 'late', {
        beforeCheckpoint: async (_context, signal) => {
          signal.addEventListener('abort', () => {
            aborted = signal.reason;
          });
          // after its timeout (40 ms), before the rollback stops waiting for it (40 ms more)
          await new Promise((resolve) => setTimeout(resolve, 60));
          log.push('late:settled');
        },
      }),
      { timeoutMs: 40 },
    );
    const error = (await simulate(context).catch((e: unknown) => e)) as CheckpointError;
    expect(error).toBeInstanceOf(CheckpointError);
    expect((aborted as { code?: string }).code).toBe(ErrorCode.TIMEOUT);
    // what a late beforeCheckpoint closes cannot undo what afterRestore reopened
    expect(log).toEqual(['before:late', 'late:settled', 'after:late']);
  });

  it('applies the cycle-wide hook timeout to resources without their own', async () => {
    const context = new Context();
    context.register(recorder([], 'slow', { afterRestore: () => new Promise(() => {}) }));
    const error = (await simulate(context, { hookTimeoutMs: 15 }).catch((e: unknown) => e)) as RestoreError;
    expect(error).toBeInstanceOf(RestoreError);
    expect(((error.errors[0] as ResourceError).cause as { code: string }).code).toBe(ErrorCode.TIMEOUT);
  });
});

describe('re-entry', () => {
  it('refuses a second checkpoint while one is running', async () => {
    const context = new Context();
    let release!: () => void;
    const entered = new Promise<void>((resolve) => {
      context.register(
        recorder([], 'slow', {
          beforeCheckpoint: () =>
            new Promise<void>((r) => {
              release = r;
              resolve();
            }),
        }),
      );
    });
    const first = simulate(context);
    await entered;
    await expect(simulate(new Context())).rejects.toMatchObject({ code: ErrorCode.BUSY });
    release();
    await expect(first).resolves.toMatchObject({ outcome: 'simulated' });
    // and once it has settled, the next one is accepted
    await expect(simulate(new Context())).resolves.toMatchObject({ outcome: 'simulated' });
  });

  it('refuses a checkpoint started from inside a hook', async () => {
    const context = new Context();
    let inner: unknown;
    context.register(
      recorder([], 'eager', {
        beforeCheckpoint: async () => {
          inner = await simulate(new Context()).catch((e: unknown) => e);
        },
      }),
    );
    await simulate(context);
    expect(inner).toMatchObject({ code: ErrorCode.REENTRANT });
    expect((inner as Error).message).toContain('"eager"');
  });
});

describe('registration', () => {
  it('defers resources registered during a cycle to the next cycle', async () => {
    const log: string[] = [];
    const context = new Context();
    const late = recorder(log, 'late');
    context.register(recorder(log, 'registrar', { beforeCheckpoint: () => void context.register(late) }));
    await simulate(context);
    expect(log).toEqual(['before:registrar', 'after:registrar']);
    log.length = 0;
    await simulate(context);
    expect(log).toEqual(['before:late', 'before:registrar', 'after:registrar', 'after:late']);
  });

  it('still restores a resource unregistered mid-cycle, then forgets it', async () => {
    const log: string[] = [];
    const context = new Context();
    const leaving = recorder(log, 'leaving');
    context.register(leaving);
    context.register(recorder(log, 'remover', { beforeCheckpoint: () => void context.unregister(leaving) }));
    await simulate(context);
    expect(log).toEqual(['before:remover', 'before:leaving', 'after:leaving', 'after:remover']);
    log.length = 0;
    await simulate(context);
    expect(log).toEqual(['before:remover', 'after:remover']);
  });

  it('registers a resource once, and the returned function unregisters it', async () => {
    const log: string[] = [];
    const context = new Context();
    const resource = recorder(log, 'once');
    const unregister = context.register(resource);
    context.register(resource);
    expect(context.size).toBe(1);
    await simulate(context);
    expect(log).toEqual(['before:once', 'after:once']);
    unregister();
    unregister();
    expect(context.size).toBe(0);
  });

  it('rejects what is not a resource and out-of-range options with CRAC_EINVAL', () => {
    const context = new Context();
    const resource = recorder([], 'ok');
    expect(() => context.register({} as Resource)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => context.register(null as unknown as Resource)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => context.register(resource, { priority: Number.NaN })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
    expect(() => context.register(resource, { timeoutMs: 0 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(context.size).toBe(0);
  });

  it('names resources by option, then by their name, then by their class', async () => {
    class CachePrimer implements Resource {
      beforeCheckpoint() {
        throw new Error('x');
      }
      afterRestore() {}
    }
    const context = new Context();
    context.register(new CachePrimer());
    context.register({ name: 'own', beforeCheckpoint: () => Promise.reject(new Error('x')), afterRestore() {} });
    context.register({ name: 'own', beforeCheckpoint: () => Promise.reject(new Error('x')), afterRestore() {} }, { name: 'chosen' });
    const error = (await simulate(context).catch((e: unknown) => e)) as CheckpointError;
    expect((error.errors as ResourceError[]).map((e) => e.resourceName)).toEqual(['chosen', 'own', 'CachePrimer']);
  });

  it('notifies a nested context as one resource, in its own order', async () => {
    const log: string[] = [];
    const outer = new Context();
    const inner = new Context('library');
    inner.register(recorder(log, 'x'));
    inner.register(recorder(log, 'y'));
    outer.register(recorder(log, 'app'));
    outer.register(inner);
    await simulate(outer);
    expect(log).toEqual(['before:y', 'before:x', 'before:app', 'after:app', 'after:x', 'after:y']);
  });
});

describe('engines and results', () => {
  it('resolves with the outcome, the engine and the phase timings', async () => {
    const result = await simulate(new Context(), { imagesDir: '/tmp/nowhere' });
    expect(result.outcome).toBe('simulated');
    expect(result.engine).toBe('simulate');
    expect(result.imagesDir).toBe('/tmp/nowhere');
    for (const value of Object.values(result.timings)) expect(value).toBeGreaterThanOrEqual(0);
    expect(result.timings.totalMs).toBeGreaterThanOrEqual(result.timings.checkpointMs);
  });

  it('hands the engine the image directory, leave-running flag and the stop signals it holds', async () => {
    const requests: unknown[] = [];
    const engine = createSimulateEngine({ onCheckpoint: (request) => void requests.push(request) });
    await checkpointRestore({ engine, context: new Context(), imagesDir: '/img', leaveRunning: true });
    expect(requests).toEqual([
      { imagesDir: '/img', leaveRunning: true, stopSignals: expect.objectContaining({ signals: expect.any(Array) }) },
    ]);
  });

  it('takes the engine from CRAC_ENGINE when the caller names none', async () => {
    const saved = process.env.CRAC_ENGINE;
    try {
      process.env.CRAC_ENGINE = 'simulate';
      await expect(checkpointRestore({ context: new Context() })).resolves.toMatchObject({ engine: 'simulate' });
      process.env.CRAC_ENGINE = 'qemu';
      await expect(checkpointRestore({ context: new Context() })).rejects.toMatchObject({
        code: ErrorCode.INVALID_ARGUMENT,
        message: expect.stringContaining('CRAC_ENGINE=qemu'),
      });
    } finally {
      if (saved === undefined) delete process.env.CRAC_ENGINE;
      else process.env.CRAC_ENGINE = saved;
    }
  });

  it('rejects a bad hook timeout before notifying anyone', async () => {
    const log: string[] = [];
    const context = new Context();
    context.register(recorder(log, 'a'));
    await expect(simulate(context, { hookTimeoutMs: -1 })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    expect(log).toEqual([]);
  });

  it('uses the global context by default, one per process', async () => {
    const log: string[] = [];
    const unregister = getGlobalContext().register(recorder(log, 'global'));
    try {
      expect(getGlobalContext()).toBe(getGlobalContext());
      await checkpointRestore({ engine: 'simulate' });
      expect(log).toEqual(['before:global', 'after:global']);
    } finally {
      unregister();
    }
  });
});

describe('diagnostics', () => {
  it('publishes each hook with its duration and error, and the cycle', async () => {
    const seen: string[] = [];
    const onHook = (message: unknown) => {
      const { resourceName, phase, durationMs, error } = message as HookEndMessage;
      expect(durationMs).toBeGreaterThanOrEqual(0);
      seen.push(`${phase}:${resourceName}:${error ? 'failed' : 'ok'}`);
    };
    const onCycle = (message: unknown) => seen.push(`cycle:${(message as { outcome?: string }).outcome}`);
    subscribe(channels.hookEnd, onHook);
    subscribe(channels.cycleEnd, onCycle);
    try {
      const context = new Context();
      context.register(recorder([], 'ok'));
      context.register(recorder([], 'bad', { afterRestore: () => Promise.reject(new Error('no')) }));
      await simulate(context).catch(() => {});
    } finally {
      unsubscribe(channels.hookEnd, onHook);
      unsubscribe(channels.cycleEnd, onCycle);
    }
    expect(seen).toEqual([
      'beforeCheckpoint:bad:ok',
      'beforeCheckpoint:ok:ok',
      'afterRestore:ok:ok',
      'afterRestore:bad:failed',
      'cycle:undefined',
    ]);
  });
});
