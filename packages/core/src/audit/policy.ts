import { CracError, ErrorCode } from '../errors.js';
import type { AuditMode, HandleKind, UnreleasedOption, UnreleasedPolicy } from './types.js';

/** The environment variable read when `checkpointRestore()` gets no `unreleased` option. */
export const UNRELEASED_ENV = 'CRAC_UNRELEASED';
/** The environment variable read when `checkpointRestore()` gets no `audit` option. */
export const AUDIT_ENV = 'CRAC_AUDIT';

const POLICIES: readonly UnreleasedPolicy[] = ['refuse', 'ignore', 'close'];
const MODES: readonly AuditMode[] = ['enforce', 'report', 'off'];
const KINDS: readonly HandleKind[] = [
  'tcp-listener',
  'tcp-socket',
  'udp-socket',
  'unix-listener',
  'unix-socket',
  'other-socket',
  'file',
  'pipe',
  'device',
  'io_uring',
  'inotify',
  'anon-inode',
  'child-process',
];

/** Kinds that CRIU saves with the app: let through unless named (`{ 'child-process': 'refuse' }`). */
const DEFAULT_IGNORED: ReadonlySet<HandleKind> = new Set(['child-process']);

/** The policy for each kind. */
export type PolicyFor = (kind: HandleKind) => UnreleasedPolicy;

/**
 * Resolves the `unreleased` option, else `CRAC_UNRELEASED` (`close`, or `tcp-socket=close,file=ignore,default=refuse`).
 * @throws {@link CracError} `CRAC_EINVAL` for an unknown policy or kind.
 */
export function resolvePolicy(option: UnreleasedOption | undefined, env: NodeJS.ProcessEnv = process.env): PolicyFor {
  const source = option ?? parseEnv(env[UNRELEASED_ENV]);
  const table = typeof source === 'string' ? { default: source } : (source ?? {});
  for (const [key, value] of Object.entries(table)) {
    if (key !== 'default' && !KINDS.includes(key as HandleKind)) {
      throw new CracError(ErrorCode.INVALID_ARGUMENT, `unreleased: unknown handle kind "${key}"; use one of default, ${KINDS.join(', ')}`);
    }
    if (!POLICIES.includes(value as UnreleasedPolicy)) {
      throw new CracError(
        ErrorCode.INVALID_ARGUMENT,
        `unreleased: unknown policy "${String(value)}" for ${key}; use one of ${POLICIES.join(', ')}`,
      );
    }
  }
  const perKind = table as Partial<Record<HandleKind | 'default', UnreleasedPolicy>>;
  return (kind) => perKind[kind] ?? (DEFAULT_IGNORED.has(kind) ? 'ignore' : (perKind.default ?? 'refuse'));
}

function parseEnv(value: string | undefined): UnreleasedOption | undefined {
  if (!value) return undefined;
  if (!value.includes('=')) return value as UnreleasedPolicy;
  const table: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const [key = '', policy = ''] = pair.split('=').map((part) => part.trim());
    table[key] = policy;
  }
  return table as UnreleasedOption;
}

/**
 * Resolves the audit mode: the option, else `CRAC_AUDIT`, else `report` for the simulate engine
 * (it makes no image) and `enforce` for the others.
 * @throws {@link CracError} `CRAC_EINVAL` for an unknown mode.
 */
export function resolveAuditMode(option: AuditMode | undefined, engineName: string, env: NodeJS.ProcessEnv = process.env): AuditMode {
  const mode = option ?? (env[AUDIT_ENV] || undefined) ?? (engineName === 'simulate' ? 'report' : 'enforce');
  if (!MODES.includes(mode as AuditMode)) {
    throw new CracError(ErrorCode.INVALID_ARGUMENT, `audit: unknown mode "${mode}"; use one of ${MODES.join(', ')}`);
  }
  return mode as AuditMode;
}
