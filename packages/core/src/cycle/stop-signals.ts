import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { CracError, ErrorCode } from '../errors.js';
import type { EngineOutcome } from '../types.js';

/** The signals that ask a process to stop: held back while a checkpoint runs. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** One of {@link STOP_SIGNALS}. */
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * What an engine sees of the stop signals a checkpoint holds back (`EngineRequest.stopSignals`).
 *
 * While the cycle runs, a stop signal is recorded instead of reaching the app's handlers (whose
 * `server.close()` the rollback or the restore would undo). An engine whose dump blocks the event
 * loop (the criu engine) must catch these signals itself for the dump's duration, so that none is
 * left pending or queued in the image, and report them with {@link StopSignalHold.caughtDuringDump}.
 */
export interface StopSignalHold {
  /** The signals held back in this cycle (those the app listens to, or whose default action ends it). */
  readonly signals: readonly StopSignal[];
  /** The first stop signal that arrived, if one did: the checkpoint is abandoned before the dump. */
  readonly requested: StopSignal | undefined;
  /**
   * Reports the signals the engine caught during the dump. Their fate depends on the process:
   * the original (`checkpointed`, or `failed`) gets them after the cycle; a restored copy drops
   * them, as it was not the process asked to stop, except `forThisCopy`: those its restorer
   * forwarded to it (a SIGTERM to `crac restore` while CRIU restored), which it gets after the cycle.
   */
  caughtDuringDump(signals: readonly StopSignal[], outcome: EngineOutcome | 'failed', forThisCopy?: readonly StopSignal[]): void;
  /**
   * For an engine that goes on catching the signals itself after the dump: the cycle calls
   * `handBack` when it settles, once its own listeners are gone, with the signals Node has just
   * given back to the default action (no listener left); `handBack` puts the other handlers back
   * and returns what it caught since the dump, which the cycle delivers. A signal taken by Node's
   * handler instead would wait in libuv's pipe for the event loop, and Node drops it when the
   * last listener of that signal goes.
   */
  keepCaught(handBack: (defaulted: StopSignal[]) => StopSignal[]): void;
}

type Listener = (...args: unknown[]) => void;

/**
 * Holds the stop signals back for the duration of a checkpoint (see {@link StopSignalHold}):
 * the app's own listeners are set aside, and each signal that arrives is delivered once, to
 * those listeners or to the default action, when the cycle has settled ({@link release}).
 */
export class StopSignalInterceptor implements StopSignalHold {
  readonly signals: readonly StopSignal[];
  /** Signals to deliver once the cycle settles, in order of first arrival (a repeat is one request). */
  readonly #arrived: StopSignal[] = [];
  readonly #saved = new Map<StopSignal, Listener[]>();
  readonly #stop = new AbortController();
  readonly #listener = (signal: unknown) => this.#record(signal as StopSignal);
  #handBack: ((defaulted: StopSignal[]) => StopSignal[]) | undefined;
  #released = false;

  /** Starts holding back the stop signals that would reach the app. */
  constructor(signals: readonly StopSignal[] = signalsToHold()) {
    this.signals = signals;
    for (const signal of signals) {
      // ours first: with a listener left, Node keeps its handler installed while the app's are set aside
      process.on(signal, this.#listener);
      const appListeners = process.rawListeners(signal).filter((listener) => listener !== this.#listener) as Listener[];
      for (const listener of appListeners) process.removeListener(signal, listener);
      this.#saved.set(signal, appListeners);
    }
  }

  get requested(): StopSignal | undefined {
    return this.#arrived[0];
  }

  /** Aborted at the first stop signal: the checkpoint stops notifying resources and rolls back. */
  get stopping(): AbortSignal {
    return this.#stop.signal;
  }

  caughtDuringDump(signals: readonly StopSignal[], outcome: EngineOutcome | 'failed', forThisCopy: readonly StopSignal[] = []): void {
    if (outcome !== 'restored') {
      for (const signal of signals) this.#record(signal);
      return;
    }
    // the copy's own: delivered once the cycle settles, its resources back first (the restore is not abandoned)
    for (const signal of forThisCopy) if (!this.#arrived.includes(signal)) this.#arrived.push(signal);
    for (const signal of new Set(signals.filter((signal) => !forThisCopy.includes(signal)))) {
      process.emitWarning(
        `${signal} reached the process being checkpointed during its dump: the original process gets it, this restored copy does not`,
        { code: ErrorCode.STOP_SIGNAL },
      );
    }
  }

  keepCaught(handBack: (defaulted: StopSignal[]) => StopSignal[]): void {
    this.#handBack = handBack;
  }

  /**
   * Gives the app its listeners back, then delivers each signal that arrived, once: to those
   * listeners, or to the default action (which ends the process). The signals are sent on the
   * next turn of the event loop, so that whoever awaits the cycle hears how it ended first (the
   * checkpoint trigger answers its requester before a default action ends the process).
   * Calling it twice is harmless.
   * @returns the signals to be delivered.
   */
  release(): StopSignal[] {
    if (this.#released) return [];
    this.#released = true;
    for (const [signal, listeners] of this.#saved) {
      // before any listener the app added during the cycle, as they were
      for (const listener of [...listeners].reverse()) process.prependListener(signal, listener);
      process.removeListener(signal, this.#listener);
    }
    const defaulted = this.signals.filter((signal) => process.listenerCount(signal) === 0);
    for (const signal of this.#handBack?.(defaulted) ?? []) if (!this.#arrived.includes(signal)) this.#arrived.push(signal);
    const delivered = [...this.#arrived];
    // a real signal: it takes the path it would have taken without the checkpoint
    if (delivered.length > 0) {
      setImmediate(() => {
        for (const signal of delivered) process.kill(process.pid, signal);
      });
    }
    return delivered;
  }

  #record(signal: StopSignal): void {
    if (!this.#arrived.includes(signal)) this.#arrived.push(signal);
    if (!this.#stop.signal.aborted) this.#stop.abort(stopSignalError(signal));
  }
}

/**
 * The error of a checkpoint abandoned because a stop signal arrived before its dump: the
 * resources are given back what they released, and the signal is delivered to the app.
 */
export function stopSignalError(signal: StopSignal): CracError {
  return new CracError(
    ErrorCode.STOP_SIGNAL,
    `${signal} arrived before the dump: the checkpoint was abandoned, and the app gets the signal once its resources are back`,
  );
}

/**
 * The stop signals to hold back: those the app listens to, and those whose default action would
 * end it. An ignored signal (`nohup`) stays ignored: holding it would install a handler, and
 * taking it away again would leave the default action (death) in place of `SIG_IGN`.
 */
export function signalsToHold(
  listenerCount: (signal: StopSignal) => number = (signal) => process.listenerCount(signal),
  ignored: ReadonlySet<string> | null = ignoredSignals(),
): StopSignal[] {
  // with no way to know what is ignored, hold only what is listened to (that changes no disposition)
  return STOP_SIGNALS.filter((signal) => listenerCount(signal) > 0 || (ignored !== null && !ignored.has(signal)));
}

/** The signals this process ignores (`SigIgn` of /proc/self/status); null where it cannot be read. */
export function ignoredSignals(status?: string): Set<string> | null {
  let text = status;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return null;
    }
  }
  const mask = /^SigIgn:\s*([0-9a-f]+)$/im.exec(text)?.[1];
  if (mask === undefined) return null;
  const bits = BigInt(`0x${mask}`);
  const ignored = new Set<string>();
  for (const [name, number] of Object.entries(constants.signals)) {
    if ((bits >> BigInt(number - 1)) & 1n) ignored.add(name);
  }
  return ignored;
}

/** Signal numbers of the stop signals, for the native hold (`os.constants.signals`). */
export function signalNumber(signal: StopSignal): number {
  return constants.signals[signal];
}

/** The stop signal with this number, if it is one. */
export function stopSignalOf(number: number): StopSignal | undefined {
  return STOP_SIGNALS.find((signal) => constants.signals[signal] === number);
}
