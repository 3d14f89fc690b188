import { CracError, ErrorCode } from '../errors.js';
import type { AuditEntry } from './types.js';

/**
 * The checkpoint was refused: handles that no resource released are still open. Found in the
 * `errors` of the {@link CheckpointError} (the app runs on). The message lists each handle,
 * where it was opened, and what would take care of it.
 */
export class UnreleasedHandlesError extends CracError {
  /** The handles that refused the checkpoint. */
  readonly handles: readonly AuditEntry[];

  constructor(handles: readonly AuditEntry[]) {
    const count = handles.length === 1 ? '1 open handle' : `${handles.length} open handles`;
    super(
      ErrorCode.UNRELEASED,
      `${count} that no resource released would not survive the checkpoint:\n${handles.map((h) => `  - ${formatEntry(h)}`).join('\n')}`,
    );
    this.handles = handles;
  }
}

/** One line per handle: what, where it was opened, what to do. */
export function formatEntry(entry: AuditEntry): string {
  const where = entry.createdAt?.location
    ? `, opened at ${entry.createdAt.location}`
    : entry.kind === 'child-process' || entry.kind === 'io_uring'
      ? ''
      : ' (opened before @crac/core was loaded, or by native code)';
  return `${entry.description}${where}: ${entry.remedy}`;
}
