/**
 * A gate that holds callers in a queue while it is closed, and lets them through, in order,
 * when it opens again. Adapters of pools and clients close it before a checkpoint so that new
 * borrowers wait instead of failing or opening connections that would end up in the image.
 *
 * @example
 * ```ts
 * const gate = new Gate();
 * const connect = pool.connect;
 * pool.connect = (...args) => gate.call(() => connect.apply(pool, args));
 * // beforeCheckpoint: gate.close(); afterRestore: gate.open()
 * ```
 */
export class Gate {
  #open = true;
  #held: Held[] = [];

  /** Whether callers go straight through. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** How many callers are waiting for the gate to open. */
  get heldCount(): number {
    return this.#held.length;
  }

  /** From now on, callers wait. Closing a closed gate changes nothing. */
  close(): void {
    this.#open = false;
  }

  /**
   * Lets every held caller through, in the order they came, then lets new ones straight through.
   * A held caller that throws does not stop the others (its error goes to its own promise when
   * it was held by {@link Gate.call}). If a caller closes the gate again, the rest stay held.
   */
  open(): void {
    this.#open = true;
    while (this.#open && this.#held.length > 0) {
      const held = this.#held.shift() as Held;
      held.run();
    }
  }

  /**
   * Runs `fn` now when the gate is open, otherwise when it opens. For callback-style calls
   * whose result is not needed; `refuse` tells the caller when it is refused instead (see
   * {@link Gate.refuseHeld}). Errors thrown by a held `fn` are reported as uncaught
   * exceptions would be: wrap the body when it may throw.
   */
  run(fn: () => void, refuse: (error: Error) => void = () => {}): void {
    if (this.#open) fn();
    else this.#held.push({ run: fn, refuse });
  }

  /**
   * Runs `fn` now when the gate is open and returns what it returns; otherwise returns a
   * promise of what `fn` will return (or throw) once the gate opens.
   */
  call<T>(fn: () => T): T | Promise<Awaited<T>> {
    if (this.#open) return fn();
    return new Promise<Awaited<T>>((resolve, reject) => {
      this.#held.push({
        run: () => {
          try {
            Promise.resolve(fn()).then(resolve, reject);
          } catch (error) {
            reject(error);
          }
        },
        refuse: reject,
      });
    });
  }

  /**
   * Refuses every held caller with `error` (their promise rejects; a {@link Gate.run} caller gets
   * its `refuse`), then opens. For a restored copy of a leave-running checkpoint: what was held
   * belongs to the original process, which runs it (see `heldWorkBelongsElsewhere()`).
   */
  refuseHeld(error: Error): void {
    for (const held of this.#held.splice(0)) held.refuse(error);
    this.#open = true;
  }
}

/** A caller waiting at a closed gate: what to run when it opens, and how to refuse it instead. */
interface Held {
  run(): void;
  refuse(error: Error): void;
}
