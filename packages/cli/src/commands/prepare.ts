import { performance } from 'node:perf_hooks';
import { requestPrepare } from '@crac/core/protocol';
import { ExitCode, Report } from '../output.js';

/** Options of `crac prepare`. */
export interface PrepareCommandOptions {
  pid: number;
  holdMs?: number;
  json?: boolean;
}

/**
 * `crac prepare --pid PID`: before a container engine's checkpoint (`podman container checkpoint`,
 * the kubelet's checkpoint API), the app releases every resource and holds; exits 0 once it
 * holds. After the engine's restore each copy notices on its own and takes its resources back.
 */
export async function prepareCommand(options: PrepareCommandOptions): Promise<number> {
  const report = new Report(options.json ?? false);
  const started = performance.now();
  try {
    const { id } = await requestPrepare(options.pid, options.holdMs === undefined ? {} : { holdMs: options.holdMs });
    report.phase('prepare', performance.now() - started, `process ${options.pid} holds: checkpoint its container now`);
    report.finish({ ok: true, pid: options.pid, outcome: 'held', id });
    return ExitCode.OK;
  } catch (error) {
    report.error(error as Error & { code?: string });
    report.finish({ ok: false, pid: options.pid }, error as Error);
    return ExitCode.FAILED;
  }
}
