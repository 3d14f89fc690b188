/**
 * The app side of the trigger_server fuzz target, in a process of its own (server-target.ts runs
 * it from a bundle): the checkpoint trigger on its control socket (in `CRAC_RUNTIME_DIR`, on the
 * simulated engine), and a resource that holds the first cycle forever, so that every later
 * checkpoint or prepare request is refused (`CRAC_EBUSY`) instead of run. Prints the socket's
 * path; ends when its stdin does (its parent is gone).
 */
import { getGlobalContext } from '../../global-context.js';
import { CheckpointTrigger } from '../trigger-server.js';

getGlobalContext().register(
  { name: 'held cycle', beforeCheckpoint: () => new Promise<void>(() => {}), afterRestore: () => {} },
  // the longest timer Node keeps: about 24 days
  { timeoutMs: 2 ** 31 - 1 },
);
const trigger = new CheckpointTrigger();
await trigger.start();
process.stdout.write(`${trigger.path}\n`);
process.stdin.resume().once('end', () => process.exit(0));
