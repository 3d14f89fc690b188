// A process at the end of a checkpoint cycle, for hold-signals.test.ts: the dump is over, a stop
// signal arrives before the event loop runs again, then the cycle gives the signals back. Run
// from a bundle: node hold-signals-child.mjs <crac.node> <listener: 0 none | 1 the app's | 2 added during the cycle>.
import { createRequire } from 'node:module';
import { StopSignalInterceptor } from '../../cycle/stop-signals.js';
import { holdStopSignals } from './hold-signals.js';
import type { NativeBinding } from './native.js';

const [addon, withListener] = process.argv.slice(2) as [string, string];
const native = createRequire(import.meta.url)(addon) as NativeBinding;
const listen = () =>
  process.on('SIGTERM', () => {
    process.stdout.write('listener');
    process.exit(3);
  });
if (withListener === '1') listen();
const interceptor = new StopSignalInterceptor(['SIGTERM']);
const hold = await holdStopSignals(native, interceptor);
hold.release('restored');
// an afterRestore hook that installs a shutdown handler
if (withListener === '2') listen();
// synchronous: the signal is in before anything else runs
process.kill(process.pid, 'SIGTERM');
interceptor.release();
setTimeout(() => {
  process.stdout.write('alive');
  process.exit(0);
}, 1000);
