import type { NativeBinding } from '../engine/criu/native.js';
import { applyEnvironment, type EnvironmentChanges, readRestorerEnvironment } from './environment.js';
import { notifyWorkersRestored, refreshThreadRandomness } from './randomness.js';

/**
 * What a restored copy does first, before any afterRestore hook: its randomness becomes its
 * own (copies of one image must not share it), and its environment the restorer's.
 */
export function prepareRestoredProcess(native: NativeBinding): { environment?: EnvironmentChanges } {
  native.reseedRandom();
  refreshThreadRandomness();
  notifyWorkersRestored();
  const restorer = readRestorerEnvironment();
  return restorer ? { environment: applyEnvironment(restorer) } : {};
}
