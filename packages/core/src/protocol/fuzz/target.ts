import assert from 'node:assert/strict';

/**
 * A fuzz target: one reader of untrusted input and the invariants it keeps. A crash is an
 * exception out of `execute`: an assertion that failed (an invariant broken) or an exception the
 * reader let escape.
 */
export interface FuzzTarget {
  readonly name: string;
  /** The longest input the mutator makes for it, in bytes. */
  readonly maxInputLength: number;
  /**
   * Runs the reader on `input` and checks its invariants. Returns a short word for what the reader
   * did with it (refused as not JSON, read as a status request...): an input that shows a word not
   * seen before joins the corpus, so that later mutations start from it.
   */
  execute(input: Buffer): string | Promise<string>;
  /** Ends what the target started (a server process), if anything. */
  close?(): Promise<void>;
}

/** Object.prototype's own properties as the process started. */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

/** Asserts that nothing was added to Object.prototype (a `__proto__` member must stay a member). Cheap: once an execution. */
export function assertPrototypeClean(): void {
  const names = Object.getOwnPropertyNames(Object.prototype);
  if (names.length !== PROTOTYPE_NAMES.length) assert.deepEqual(names, PROTOTYPE_NAMES, 'Object.prototype was changed');
  // the mutator's pollution attempts all name this key
  assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'Object.prototype.polluted was set');
}

/** Whether `value` is an object as `JSON.parse` makes one: not an array, its prototype Object.prototype. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

/** `typeof`, telling null and arrays apart: a word for the shape of a value. */
export function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}
