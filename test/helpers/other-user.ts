// Another user of this host, for the suites that check what root refuses of someone else's files:
// created for the file (a system user, no home, no shell) unless it exists, removed after it.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';

/** The other user's name. */
export const OTHER = 'crac-e2e-other';

/** Ids of the other user. */
export interface OtherUser {
  uid: number;
  gid: number;
}

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, OTHER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
}

/** Registers the file's hooks that create and remove the user; the ids are known once `beforeAll` ran. */
export function useOtherUser(): () => OtherUser {
  let createdUser = false;
  let other: OtherUser | undefined;
  beforeAll(() => {
    try {
      idOf('-u');
    } catch {
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', OTHER]);
      createdUser = true;
    }
    other = { uid: idOf('-u'), gid: idOf('-g') };
  });
  afterAll(() => {
    if (createdUser) execFileSync('userdel', [OTHER]);
  });
  return () => {
    if (!other) throw new Error('the other user is known only once beforeAll ran');
    return other;
  };
}
