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

/** A request sent to a process's control socket (one JSON line). */
export type ControlRequest =
  | { command: 'checkpoint'; id: string; imagesDir?: string; leaveRunning?: boolean }
  | { command: 'status'; id: string };

/** What the process answers (JSON lines). */
export type ControlReply =
  | { event: 'accepted'; id: string }
  | { event: 'dumping'; id: string }
  | { event: 'settled'; id: string; outcome?: string; error?: { code?: string; message: string } }
  | { event: 'unknown'; id: string }
  | { event: 'refused'; id: string; error: { code?: string; message: string } };
