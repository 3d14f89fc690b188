/**
 * `@crac/core/testing`: run the whole checkpoint cycle in-process, with no image and no CRIU,
 * to test your resources anywhere, fast.
 *
 * @example
 * ```ts
 * import { checkpointRestore, Context } from '@crac/core';
 * import { createSimulateEngine } from '@crac/core/testing';
 *
 * const context = new Context();
 * context.register(myResource);
 * const { outcome } = await checkpointRestore({ engine: createSimulateEngine(), context });
 * ```
 *
 * @packageDocumentation
 */
export { createSimulateEngine, type SimulateEngineOptions } from './engine/simulate.js';
