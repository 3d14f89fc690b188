import { CracError, ErrorCode } from '../errors.js';
import type { Engine } from './engine.js';

/**
 * The CRIU engine: the process checkpoints itself through the native bridge.
 * Placeholder until the native bridge lands; selecting it says so with a coded error.
 */
export function createCriuEngine(): Engine {
  throw new CracError(
    ErrorCode.ENGINE_UNAVAILABLE,
    'the criu engine is not available in this build; use the simulate engine (CRAC_ENGINE=simulate)',
  );
}
