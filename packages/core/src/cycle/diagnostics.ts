import { channel } from 'node:diagnostics_channel';
import type { HookPhase } from '../errors.js';

/**
 * Names of the `diagnostics_channel` channels on which `@crac/core` reports each cycle.
 * Publishing costs nothing while no one subscribes.
 *
 * @example
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel';
 * import { channels, type HookEndMessage } from '@crac/core';
 * subscribe(channels.hookEnd, (message) => {
 *   const { resourceName, phase, durationMs, error } = message as HookEndMessage;
 *   console.log(`${phase} ${resourceName} ${durationMs.toFixed(1)} ms`, error ?? '');
 * });
 * ```
 */
export const channels = {
  /** {@link CycleStartMessage}: a checkpoint begins. */
  cycleStart: 'crac:cycle:start',
  /** {@link HookStartMessage}: a resource's hook is called. */
  hookStart: 'crac:hook:start',
  /** {@link HookEndMessage}: a resource's hook settled (or timed out). */
  hookEnd: 'crac:hook:end',
  /** {@link PhaseEndMessage}: a phase of the cycle ended. */
  phaseEnd: 'crac:phase:end',
  /** {@link CycleEndMessage}: the cycle ended, with its outcome or error. */
  cycleEnd: 'crac:cycle:end',
} as const;

/** Published on {@link channels.cycleStart}. */
export interface CycleStartMessage {
  engine: string;
  leaveRunning: boolean;
}
/** Published on {@link channels.hookStart}. */
export interface HookStartMessage {
  resourceName: string;
  phase: HookPhase;
}
/** Published on {@link channels.hookEnd}. */
export interface HookEndMessage extends HookStartMessage {
  durationMs: number;
  error?: Error;
}
/** Published on {@link channels.phaseEnd}. */
export interface PhaseEndMessage {
  phase: 'beforeCheckpoint' | 'checkpoint' | 'afterRestore' | 'rollback';
  durationMs: number;
}
/** Published on {@link channels.cycleEnd}. */
export interface CycleEndMessage {
  outcome?: string;
  error?: Error;
  durationMs: number;
}

const cycleStart = channel(channels.cycleStart);
const hookStart = channel(channels.hookStart);
const hookEnd = channel(channels.hookEnd);
const phaseEnd = channel(channels.phaseEnd);
const cycleEnd = channel(channels.cycleEnd);

/** Internal: publish helpers that skip building messages when no one listens. */
export const publish = {
  cycleStart: (message: CycleStartMessage) => cycleStart.hasSubscribers && cycleStart.publish(message),
  hookStart: (message: HookStartMessage) => hookStart.hasSubscribers && hookStart.publish(message),
  hookEnd: (message: HookEndMessage) => hookEnd.hasSubscribers && hookEnd.publish(message),
  phaseEnd: (message: PhaseEndMessage) => phaseEnd.hasSubscribers && phaseEnd.publish(message),
  cycleEnd: (message: CycleEndMessage) => cycleEnd.hasSubscribers && cycleEnd.publish(message),
};
