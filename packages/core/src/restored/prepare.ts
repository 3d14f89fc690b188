import type { NativeBinding } from '../engine/criu/native.js';
import { core } from '../global-context.js';
import { applyEnvironment, type EnvironmentChanges, readRestoreHandoff } from './environment.js';
import { notifyWorkersRestored, refreshThreadRandomness } from './randomness.js';

/** The variable of the handoff that holds the restorer's signal token (native/src/lib/supervise/supervise.c), not the app's. */
const SIGNAL_TOKEN_ENV = 'CRAC_SIGNAL_TOKEN';

/**
 * What a restored copy does first, before any afterRestore hook: its randomness becomes its
 * own (copies of one image must not share it), and its environment the one its restorer handed
 * over on `handoffFd` (see PROTOCOL.md, "Restore handoff"), without the restorer's signal token,
 * which is returned: the stop signals caught with it are this copy's.
 */
export function prepareRestoredProcess(
  native: NativeBinding,
  handoffFd: number,
): { environment?: EnvironmentChanges; signalToken?: number } {
  native.reseedRandom();
  refreshThreadRandomness(core().random);
  notifyWorkersRestored();
  const restorer = readRestoreHandoff(handoffFd);
  if (!restorer) return {};
  const { [SIGNAL_TOKEN_ENV]: token, ...environment } = restorer;
  const signalToken = Number(token);
  return { environment: applyEnvironment(environment), ...(Number.isInteger(signalToken) && signalToken !== 0 ? { signalToken } : {}) };
}
