import { readAutoSettings, warnUnknownIntegrations } from './settings.js';
import { adoptEveryServer } from './servers.js';

/**
 * The zero-code path, started by the preload in the app's process: what `CRAC_AUTO` turns on
 * (everything by default) is taken care of without a line of the app's code.
 */
export function startZeroCode(env: NodeJS.ProcessEnv = process.env): void {
  const { enabled, unknown } = readAutoSettings(env);
  warnUnknownIntegrations(unknown);
  if (enabled.has('servers')) adoptEveryServer();
}
