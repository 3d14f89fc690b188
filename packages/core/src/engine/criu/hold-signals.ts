import { setImmediate as nextTurn } from 'node:timers/promises';
import { type StopSignal, type StopSignalHold, signalNumber, stopSignalError, stopSignalOf } from '../../cycle/stop-signals.js';
import type { EngineOutcome } from '../../types.js';
import type { NativeBinding } from './native.js';

/** The stop signals caught in C for the dump (see native/src/addon/signals.c). */
export interface NativeSignalHold {
  /** Abandons the checkpoint (throws `CRAC_ESIGNAL`) when a stop signal arrived before this point. */
  throwIfStopped(): void;
  /**
   * Reports what was caught during the dump to the cycle (once). In a restored copy, `token` is
   * its restorer's (restored/prepare.ts): what came with it is the copy's. The signals stay
   * caught in C until the cycle gives them back ({@link StopSignalHold.keepCaught}).
   */
  release(outcome: EngineOutcome | 'failed', token?: number): void;
}

/**
 * Catches the cycle's stop signals in C until {@link NativeSignalHold.release}, so that none can
 * be saved in the image. Resolves after two turns of the event loop: a signal that libuv took
 * before the switch sits in its pipe until the loop reads it, and must reach the cycle (which
 * then abandons the checkpoint) rather than the image.
 */
export async function holdStopSignals(native: NativeBinding, hold: StopSignalHold): Promise<NativeSignalHold> {
  native.holdSignals(hold.signals.map(signalNumber));
  let released = false;
  const release = (outcome: EngineOutcome | 'failed', token?: number) => {
    if (released) return;
    released = true;
    // taken first: a signal that comes after is this process's own (the copy's, or the original's)
    const caught = namesOf(native.takeCaughtSignals());
    const forThisCopy = token ? namesOf(native.caughtWithToken(token)).filter((signal) => caught.includes(signal)) : [];
    hold.caughtDuringDump(caught, outcome, forThisCopy);
    hold.keepCaught((defaulted) => namesOf(native.releaseSignals(defaulted.map(signalNumber))));
  };
  try {
    // the second turn starts from the check phase: a whole poll phase (libuv's signal pipe) lies between
    await nextTurn();
    await nextTurn();
  } catch (error) {
    release('failed');
    throw error;
  }
  return {
    throwIfStopped() {
      const stop = hold.requested ?? namesOf(native.caughtSignals())[0];
      if (stop) throw stopSignalError(stop);
    },
    release,
  };
}

function namesOf(numbers: number[]): StopSignal[] {
  return numbers.map(stopSignalOf).filter((signal): signal is StopSignal => signal !== undefined);
}
