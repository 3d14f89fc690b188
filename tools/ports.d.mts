// Types of ports.mjs.
/** A port of 127.0.0.1 nobody listens on now. */
export function freePort(): Promise<number>;
/** Whether something accepts connections on 127.0.0.1:`port`. */
export function canConnect(port: number): Promise<boolean>;
/** Waits until `port` accepts connections; rejects, with `output()`, if `isAlive()` turns false first or on timeout. */
export function waitForPort(port: number, options: { isAlive(): boolean; output(): string; timeoutMs?: number }): Promise<void>;
