import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * One ordinary full garbage collection, as `global.gc()` under `node --expose-gc`, without
 * starting node with the flag: the flag is set, a fresh context hands over its `gc` function,
 * and the flag is unset again (so later contexts get no `gc` global).
 */
export function fullGc(): void {
  setFlagsFromString('--expose-gc');
  let gc: () => void;
  try {
    gc = runInNewContext('gc') as () => void;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  gc();
}
