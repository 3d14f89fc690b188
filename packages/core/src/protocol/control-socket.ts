import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The private directory (0700) holding one control socket per process that accepts
 * checkpoint requests: only its owner (and root) can ask for a checkpoint.
 */
export function controlDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.CRAC_RUNTIME_DIR || env.XDG_RUNTIME_DIR || tmpdir();
  return join(base, `crac-${process.getuid?.() ?? 'user'}`);
}

/** The control socket of process `pid`. */
export function controlSocketPath(pid: number, env: NodeJS.ProcessEnv = process.env): string {
  return join(controlDir(env), `${pid}.sock`);
}

/** The version of the control protocol: every request carries it; another version is refused. */
export const CONTROL_PROTOCOL = 1;

/** A request sent to a process's control socket (one JSON line). See PROTOCOL.md. */
export type ControlRequest = { protocol: typeof CONTROL_PROTOCOL; id: string } & (
  | { command: 'checkpoint'; imagesDir?: string; leaveRunning?: boolean }
  | { command: 'status' }
);

/** What the process answers (JSON lines). */
export type ControlReply =
  | { event: 'accepted'; id: string }
  /** Sent as the control socket closes for the dump: where the image goes, to look for its seal. */
  | { event: 'dumping'; id: string; imagesDir?: string }
  | { event: 'settled'; id: string; outcome?: string; error?: { code?: string; message: string } }
  | { event: 'unknown'; id: string }
  | { event: 'refused'; id: string; error: { code?: string; message: string } };

/** Reads one request line; undefined when it is not a request of this protocol. */
export function parseControlRequest(line: string): ControlRequest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const request = value as Partial<ControlRequest>;
  if (request.protocol !== CONTROL_PROTOCOL || typeof request.id !== 'string') return undefined;
  if (request.command === 'status') return request as ControlRequest;
  if (request.command !== 'checkpoint') return undefined;
  const { imagesDir, leaveRunning } = request as { imagesDir?: unknown; leaveRunning?: unknown };
  if (imagesDir !== undefined && typeof imagesDir !== 'string') return undefined;
  if (leaveRunning !== undefined && typeof leaveRunning !== 'boolean') return undefined;
  return request as ControlRequest;
}
