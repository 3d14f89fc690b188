import type { Engine, EngineRequest, EngineResult } from './engine.js';

/** Options of {@link createSimulateEngine}. */
export interface SimulateEngineOptions {
  /**
   * Runs where the image would be taken, after every `beforeCheckpoint` hook: inspect the
   * app's quiesced state here, or throw to simulate a failed dump.
   */
  onCheckpoint?: (request: EngineRequest) => void | Promise<void>;
}

/**
 * An engine that makes no image: the whole cycle runs in-process, on any OS, in
 * milliseconds. For tests of resources and for development off Linux.
 *
 * @example
 * ```ts
 * // a dump that fails: the resources are rolled back, checkpointRestore() rejects
 * const failing = createSimulateEngine({ onCheckpoint: () => { throw new Error('disk full'); } });
 * await expect(checkpointRestore({ engine: failing, context })).rejects.toThrow(CheckpointError);
 * ```
 */
export function createSimulateEngine(options: SimulateEngineOptions = {}): Engine {
  return {
    name: 'simulate',
    async checkpoint(request: EngineRequest): Promise<EngineResult> {
      await options.onCheckpoint?.(request);
      return { outcome: 'simulated' };
    },
  };
}
