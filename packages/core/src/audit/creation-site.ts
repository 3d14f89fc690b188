import { packageRoot } from '../protocol/programs.js';
import type { StackHolder } from './creation-sites.js';
import type { CreationSite } from './types.js';

let ownRoot: string | undefined;

/**
 * Formats a captured stack into a {@link CreationSite}: the location is the first frame that is
 * the app's own code (not Node's internals, not @crac/core, not node_modules); failing that, the
 * first frame in node_modules.
 */
export function toCreationSite(holder: StackHolder): CreationSite {
  const stack = (holder.stack ?? '').split('\n').slice(1).join('\n');
  const frames = stack
    .split('\n')
    .map((line) => frameLocation(line))
    .filter((location): location is string => location !== undefined && !isInternal(location));
  const location = frames.find((frame) => !frame.includes('/node_modules/')) ?? frames[0];
  return { stack, ...(location === undefined ? {} : { location }) };
}

/** `    at fn (/app/x.js:1:2)` or `    at /app/x.js:1:2` -> `/app/x.js:1:2`. */
function frameLocation(line: string): string | undefined {
  const match = /^\s*at (?:.*?\()?(.+?:\d+:\d+)\)?$/.exec(line);
  if (!match?.[1]) return undefined;
  const location = match[1].replace(/^async /, '');
  return location.startsWith('file://') ? decodeURI(location.slice('file://'.length)) : location;
}

function isInternal(location: string): boolean {
  if (location.startsWith('node:') || !location.includes('/')) return true;
  ownRoot ??= safePackageRoot();
  if (ownRoot === '' || /\.test\.[cm]?[jt]s:/.test(location)) return false;
  return location.startsWith(`${ownRoot}/dist/`) || location.startsWith(`${ownRoot}/src/`);
}

function safePackageRoot(): string {
  try {
    return packageRoot();
  } catch {
    return '';
  }
}
