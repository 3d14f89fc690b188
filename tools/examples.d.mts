// Types of examples.mjs.
/** An example's demo.json. */
export interface ExampleConfig {
  /** The command that starts it (`node` is the running Node). */
  start: string[];
  /** The path whose answer shows it works. */
  probe: string;
  warmup: { path: string; requests: number };
  services: ('postgres' | 'redis')[];
  /** Fields of the probe's JSON answer that may differ between a cold and a restored app. */
  volatile?: string[];
}

/** An example's directory. */
export function exampleDir(name: string): string;
/** The examples with a demo.json; only those named in `only` (comma-separated) when given. */
export function exampleNames(only?: string): string[];
/** An example's demo.json. */
export function exampleConfig(name: string): ExampleConfig;
