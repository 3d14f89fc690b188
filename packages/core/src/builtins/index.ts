import type { Context } from '../context.js';
import { KeepAliveSockets } from './keep-alive.js';

export { KeepAliveSockets } from './keep-alive.js';

/** Below the pools (`Priority.CONNECTION`): what they close may go through the global agents. */
export const BUILTIN_PRIORITY = -500;

const registered = new WeakSet<Context>();

/**
 * Registers the built-in resources in `context` (the global one), once: the
 * {@link KeepAliveSockets} of the global HTTP agents and of fetch.
 */
export function registerBuiltins(context: Context): void {
  if (registered.has(context)) return;
  registered.add(context);
  context.register(new KeepAliveSockets(), { priority: BUILTIN_PRIORITY });
}
