// Stop signals during a checkpoint, on the simulated engine: one that arrives during the drain
// abandons the checkpoint and reaches the app once, after the rollback (its shutdown is not undone);
// one that arrives later reaches it once after the cycle; one an engine caught during the dump of a
// restored copy is dropped. SIGHUP and SIGINT stand for SIGTERM here: vitest's worker has no
// listener of them, and the test's own listener keeps their default action (death) away.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../engine/engine.js';
import { CheckpointError, checkpointRestore, Context, ErrorCode, Priority, serverResource } from '../index.js';
import { createSimulateEngine } from '../testing.js';
import { ignoredSignals, type StopSignal, signalsToHold } from './stop-signals.js';

/** Counts one signal in the log, as an app's shutdown handler would run. */
function appHandler(signal: StopSignal, log: string[], onSignal: () => void = () => {}) {
  const handler = () => {
    log.push(`app:${signal}`);
    onSignal();
  };
  process.on(signal, handler);
  cleanups.push(() => process.off(signal, handler));
  return handler;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Waits until `done()` holds, then lets the loop turn twice more: a duplicate signal would land by then. */
async function settle(done: () => boolean) {
  for (let i = 0; i < 5_000 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  await nextTurn();
  await nextTurn();
}

function sendSelf(signal: StopSignal) {
  process.kill(process.pid, signal);
}

async function listeningServer(): Promise<Server> {
  const server = createServer((_request, response) => response.end('ok'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => server.close());
  return server;
}

describe('a stop signal during the drain', () => {
  it('abandons the checkpoint, gives everything back, then the app shuts down once and stays down', async () => {
    const log: string[] = [];
    const context = new Context();
    const server = await listeningServer();
    serverResource(server, { context });
    const closed = new Promise((resolve) => {
      appHandler('SIGHUP', log, () => server.close(resolve));
    });
    // notified after the server (lower priority): the signal comes while the server is drained
    context.register(
      {
        name: 'slow pool',
        async beforeCheckpoint(_context, signal) {
          log.push('before:slow pool');
          sendSelf('SIGHUP');
          // a drain that takes its time, until the checkpoint is abandoned
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          log.push('slow pool: told to stop');
        },
        afterRestore() {
          log.push(`after:slow pool (server listening: ${server.listening})`);
        },
      },
      { priority: Priority.NORMAL },
    );
    context.register(
      { name: 'connection', beforeCheckpoint: () => void log.push('before:connection'), afterRestore() {} },
      {
        priority: Priority.CONNECTION,
      },
    );

    const error = await checkpointRestore({ engine: 'simulate', context }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).errors[0]).toMatchObject({ code: ErrorCode.STOP_SIGNAL });
    expect((error as CheckpointError).message).toContain('SIGHUP arrived before the dump');
    await closed;
    await settle(() => log.includes('app:SIGHUP'));

    expect(log).toEqual([
      'before:slow pool',
      'slow pool: told to stop',
      // the resource after it was never notified; the server was given back before the app's handler ran
      'after:slow pool (server listening: false)',
      'app:SIGHUP',
    ]);
    expect(server.listening, "the app's server.close() is not undone").toBe(false);
  });

  it('delivers each stop signal once, however often it came', async () => {
    const log: string[] = [];
    appHandler('SIGHUP', log);
    appHandler('SIGINT', log);
    const context = new Context();
    context.register({
      async beforeCheckpoint() {
        for (const signal of ['SIGHUP', 'SIGINT', 'SIGHUP', 'SIGHUP'] as const) {
          sendSelf(signal);
          await nextTurn();
        }
      },
      afterRestore() {},
    });
    await expect(checkpointRestore({ engine: 'simulate', context })).rejects.toThrow(/SIGHUP arrived before the dump/);
    await settle(() => log.length >= 2);
    expect(log).toEqual(['app:SIGHUP', 'app:SIGINT']);
  });
});

describe('a stop signal after the drain', () => {
  it('arriving during the simulated dump: the checkpoint goes on and the app gets it once, after afterRestore', async () => {
    const log: string[] = [];
    appHandler('SIGHUP', log);
    const context = new Context();
    context.register({ beforeCheckpoint() {}, afterRestore: () => void log.push('afterRestore') });
    const engine = createSimulateEngine({
      async onCheckpoint() {
        sendSelf('SIGHUP');
        await nextTurn();
        await nextTurn();
        log.push('dumped');
      },
    });
    const result = await checkpointRestore({ engine, context });
    expect(result.outcome).toBe('simulated');
    await settle(() => log.includes('app:SIGHUP'));
    expect(log).toEqual(['dumped', 'afterRestore', 'app:SIGHUP']);
  });

  it('arriving during afterRestore: the app gets it once the cycle is over', async () => {
    const log: string[] = [];
    appHandler('SIGINT', log);
    const context = new Context();
    context.register({
      beforeCheckpoint() {},
      async afterRestore() {
        sendSelf('SIGINT');
        await nextTurn();
        await nextTurn();
        log.push('afterRestore done');
      },
    });
    await checkpointRestore({ engine: 'simulate', context });
    await settle(() => log.includes('app:SIGINT'));
    expect(log).toEqual(['afterRestore done', 'app:SIGINT']);
  });
});

describe('what an engine caught during its dump', () => {
  /** An engine that reports a signal caught during its dump, with the given outcome. */
  function reporting(outcome: 'restored' | 'checkpointed', forThisCopy: StopSignal[] = []): Engine {
    return {
      name: 'reporting',
      async checkpoint(request) {
        request.stopSignals?.caughtDuringDump(['SIGHUP', 'SIGHUP', ...forThisCopy], outcome, forThisCopy);
        return { outcome };
      },
    };
  }

  it('reaches the original process once', async () => {
    const log: string[] = [];
    appHandler('SIGHUP', log);
    await checkpointRestore({ engine: reporting('checkpointed'), context: new Context(), audit: 'off' });
    await settle(() => log.length > 0);
    expect(log).toEqual(['app:SIGHUP']);
  });

  it('is dropped by a restored copy, with a CRAC_ESIGNAL warning', async () => {
    const log: string[] = [];
    appHandler('SIGHUP', log);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    cleanups.push(() => process.off('warning', onWarning));
    await checkpointRestore({ engine: reporting('restored'), context: new Context(), audit: 'off' });
    await settle(() => warnings.length > 0);
    expect(log, 'the copy was not the process asked to stop').toEqual([]);
    expect(warnings).toEqual([expect.objectContaining({ code: ErrorCode.STOP_SIGNAL, message: expect.stringContaining('SIGHUP') })]);
  });

  it('reaches a restored copy when its restorer sent it (a SIGTERM to crac restore while CRIU restored), after its resources are back', async () => {
    const log: string[] = [];
    appHandler('SIGHUP', log);
    appHandler('SIGINT', log);
    const context = new Context();
    context.register({ beforeCheckpoint() {}, afterRestore: () => void log.push('afterRestore') });
    await checkpointRestore({ engine: reporting('restored', ['SIGINT']), context, audit: 'off' });
    await settle(() => log.includes('app:SIGINT'));
    // the original's SIGHUP is not the copy's
    expect(log).toEqual(['afterRestore', 'app:SIGINT']);
  });
});

describe('the app keeps its listeners', () => {
  it('sets them aside during the cycle only, and gives them back in their order', async () => {
    const first = () => {};
    const second = () => {};
    process.on('SIGHUP', first);
    process.once('SIGHUP', second);
    cleanups.push(() => {
      process.off('SIGHUP', first);
      process.off('SIGHUP', second);
    });
    const before = process.rawListeners('SIGHUP');
    let during: unknown[] = [];
    const engine = createSimulateEngine({
      onCheckpoint() {
        during = process.rawListeners('SIGHUP');
      },
    });
    await checkpointRestore({ engine, context: new Context() });
    expect(during).toHaveLength(1);
    expect(during).not.toContain(first);
    expect(process.rawListeners('SIGHUP')).toEqual(before);
  });

  it('leaves no listener behind on a signal the app does not listen to', async () => {
    expect(process.listenerCount('SIGINT')).toBe(0);
    let during = 0;
    const engine = createSimulateEngine({
      onCheckpoint() {
        during = process.listenerCount('SIGINT');
      },
    });
    await checkpointRestore({ engine, context: new Context() });
    expect(during, 'held during the cycle: its default action would end the app').toBe(1);
    expect(process.listenerCount('SIGINT')).toBe(0);
  });
});

describe('which signals are held', () => {
  it('holds those the app listens to and those left to their default action, not ignored ones', () => {
    const listening = (signal: StopSignal) => (signal === 'SIGINT' ? 1 : 0);
    expect(signalsToHold(listening, new Set(['SIGHUP', 'SIGPIPE']))).toEqual(['SIGTERM', 'SIGINT']);
    // an ignored signal the app listens to is caught by Node's handler anyway: held
    expect(signalsToHold(() => 1, new Set(['SIGHUP']))).toEqual(['SIGTERM', 'SIGINT', 'SIGHUP']);
    // dispositions unknown: only what the app listens to
    expect(signalsToHold(listening, null)).toEqual(['SIGINT']);
  });

  it('reads the ignored signals from /proc/self/status', () => {
    // bits 1 (SIGHUP) and 13 (SIGPIPE)
    const ignored = ignoredSignals('Name:\tnode\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000001001\n');
    expect([...(ignored ?? [])].sort()).toEqual(['SIGHUP', 'SIGPIPE']);
    expect(ignoredSignals('no such line')).toBeNull();
  });
});
