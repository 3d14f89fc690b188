import type { NativeBinding } from '../engine/criu/native.js';
import { core } from '../global-context.js';
import { applyEnvironment, type EnvironmentChanges, readRestoreHandoff } from './environment.js';
import { notifyWorkersRestored, refreshThreadRandomness } from './randomness.js';

/**
 * What a restored copy does first, before any afterRestore hook: its randomness becomes its
 * own (copies of one image must not share it), and its environment the one its restorer handed
 * over on `handoffFd` (see PROTOCOL.md, "Restore handoff").
 */
export function prepareRestoredProcess(native: NativeBinding, handoffFd: number): { environment?: EnvironmentChanges } {
  native.reseedRandom();
  refreshThreadRandomness(core().random);
  notifyWorkersRestored();
  const restorer = readRestoreHandoff(handoffFd);
  return restorer ? { environment: applyEnvironment(restorer) } : {};
}
