/**
 * The preload `crac checkpoint -- <command>` gives the app (`node --require @crac/cli/register
 * app.js` does the same for `crac checkpoint --pid`): `@crac/core/register` (the checkpoint
 * trigger, every listening server a resource), and the clients the adapters know (pg, ioredis,
 * generic-pool, mysql2) taken care of without a line of the app's code. `CRAC_AUTO` chooses which.
 */
import { readAutoSettings } from '@crac/core/protocol';
import { isCoordinatedApp } from '@crac/core/register';
import { adoptEveryClient } from './auto/clients.js';

if (isCoordinatedApp) adoptEveryClient(readAutoSettings().enabled);
