import { performance } from 'node:perf_hooks';

/** The native levers the shrink pulls (a subset of `crac.node`, see native/README-native.md). */
export interface ShrinkLevers {
  /** `v8::Isolate::LowMemoryNotification()` on the current isolate. */
  v8Notify(kind: 'low-memory'): true;
  /** glibc's `malloc_trim(0)`: gives the free pages of every malloc arena back to the kernel. */
  mallocTrim(): number;
  /** An ordinary full GC (see `full-gc.ts`). */
  fullGc(): void;
}

/** One step of the shrink and what it did to the resident size. */
export interface ShrinkStep {
  step: 'v8-low-memory' | 'full-gc' | 'malloc-trim';
  ms: number;
  rssAfterBytes: number;
  /** Why the step was skipped (a lever this node binary lacks); the checkpoint goes on. */
  skipped?: string;
}

/** What {@link shrinkProcess} did. */
export interface ShrinkReport {
  rssBeforeBytes: number;
  rssAfterBytes: number;
  ms: number;
  steps: ShrinkStep[];
}

/**
 * Makes the process small before CRIU reads its memory (CRIU writes every resident anonymous
 * page into the image, and restore time grows with the image):
 *
 * 1. `LowMemoryNotification()`: V8 collects all it can (several full GCs, compaction) and, unlike
 *    a plain `gc()`, shrinks the new space and releases the freed pages to the kernel.
 * 2. An ordinary full GC: the memory-reducing GC of step 1 leaves V8's old-generation limit just
 *    above the live size, so the first requests after a restore ran into a full GC (heavy-start:
 *    p99 of the first 100 requests 11-28 ms, against 3-6 ms unshrunk). A normal GC right after
 *    sets the limits as usual (p99 3-6 ms) and keeps the heap small (at most 4 MiB more image).
 * 3. `malloc_trim(0)`: glibc returns the free pages of its arenas (V8 and Node free a lot of
 *    malloc'd memory during those GCs), worker threads' arenas included.
 *
 * Measured with bench/levers.mjs (bench/results/levers.md), Node 20 / 24: heavy-start's image
 * 193 → 101 MiB / 286 → 101 MiB, express-pg's 75 → 21 / 75 → 23 MiB; 45-290 ms. `MemoryPressureNotification
 * (kCritical)` does less than step 1 and adds nothing after it, so it is not used. Worker
 * threads' isolates are not notified (the calls act on the calling thread's isolate only);
 * their malloc memory is trimmed by step 3.
 *
 * Best effort: a lever that fails is recorded as skipped, never fails the checkpoint.
 */
export function shrinkProcess(levers: ShrinkLevers): ShrinkReport {
  const started = performance.now();
  const rssBeforeBytes = process.memoryUsage.rss();
  const steps: ShrinkStep[] = [
    runStep('v8-low-memory', () => levers.v8Notify('low-memory')),
    runStep('full-gc', () => levers.fullGc()),
    runStep('malloc-trim', () => levers.mallocTrim()),
  ];
  return { rssBeforeBytes, rssAfterBytes: process.memoryUsage.rss(), ms: performance.now() - started, steps };
}

function runStep(step: ShrinkStep['step'], lever: () => unknown): ShrinkStep {
  const started = performance.now();
  let skipped: string | undefined;
  try {
    lever();
  } catch (error) {
    skipped = (error as Error).message;
  }
  return { step, ms: performance.now() - started, rssAfterBytes: process.memoryUsage.rss(), ...(skipped ? { skipped } : {}) };
}
