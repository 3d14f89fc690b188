import { readFileSync } from 'node:fs';
// What a terminal or a supervisor sends that the app, not `crac`, should handle: the set the
// restorer's supervisor forwards too (one list, @crac/core's).
import { FORWARDED_SIGNALS } from '@crac/core/protocol';

/** The signals a terminal sends to its whole foreground process group (Ctrl-C, Ctrl-\, hang-up). */
const TERMINAL_SIGNALS: ReadonlySet<string> = new Set(['SIGINT', 'SIGQUIT', 'SIGHUP']);

/** Options of {@link forwardSignals}. */
export interface ForwardOptions {
  /**
   * The child is in this process's process group (spawned without `detached`). A terminal's
   * signal then reaches it directly: forwarded too, a Ctrl-C would arrive twice.
   */
  sameGroup?: boolean;
}

/**
 * Passes the signals this process receives on to the process `target()` names when each arrives
 * (the app, once known); returns the function that stops it.
 */
export function forwardSignals(target: () => number, { sameGroup = false }: ForwardOptions = {}): () => void {
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => {
      if (sameGroup && TERMINAL_SIGNALS.has(signal) && inTerminalForeground()) return;
      try {
        process.kill(target(), signal);
      } catch {
        // it ended meanwhile
      }
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/**
 * Whether this process's group is the foreground group of its controlling terminal: a SIGINT,
 * SIGQUIT or SIGHUP that reaches it then most likely came from the terminal, which sent it to
 * every process of the group. (Node gives no `si_code` to tell a terminal's signal from a
 * `kill PID`; a `kill -INT` of this very pid on a terminal is the one case this takes for the
 * terminal's.)
 */
export function inTerminalForeground(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // after the command name in parentheses: state ppid pgrp session tty_nr tpgid
    const [, , pgrp, , , tpgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(tpgid) > 0 && tpgid === pgrp;
  } catch {
    return false;
  }
}
