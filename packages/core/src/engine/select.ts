import { CracError, ErrorCode } from '../errors.js';
import { createCriuEngine } from './criu/dump.js';
import type { Engine, EngineName } from './engine.js';
import { createSimulateEngine } from './simulate.js';

/** The environment variable that selects the engine when the caller names none. */
export const ENGINE_ENV = 'CRAC_ENGINE';

const factories: Record<EngineName, () => Engine> = {
  criu: createCriuEngine,
  simulate: createSimulateEngine,
};

/**
 * Picks the engine: the caller's choice, else `CRAC_ENGINE`, else `criu`. A real checkpoint is
 * never silently replaced by a simulated one.
 */
export function resolveEngine(choice: EngineName | Engine | undefined, env: NodeJS.ProcessEnv = process.env): Engine {
  if (choice !== undefined && typeof choice === 'object') return choice;
  const name = choice ?? env[ENGINE_ENV] ?? 'criu';
  if (!Object.hasOwn(factories, name)) {
    const source = choice === undefined ? `${ENGINE_ENV}=${name}` : `engine "${name}"`;
    throw new CracError(ErrorCode.INVALID_ARGUMENT, `unknown ${source}: use one of ${Object.keys(factories).join(', ')}`);
  }
  return factories[name as EngineName]();
}
