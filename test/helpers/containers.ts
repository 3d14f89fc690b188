// What the container suites share: HTTP to a container on the host's network, and waiting for a
// container to answer. `storage` is podman's `--root`/`--runroot` of a second storage (a second
// node), empty for the machine's own.
import { podman } from '@crac/tools/podman';
import { freePort } from '@crac/tools/ports';

/** GET over plain HTTP from the host (the containers share its network); status 0 when nothing answers. */
export async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

/** Waits for `/health` to answer 200 while the container runs; throws with its log otherwise. */
export async function healthy(name: string, port: number, storage: string[] = []): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await get(port, '/health')).status === 200) return;
    const state = await podman([...storage, 'inspect', '--format', '{{.State.Running}}', name]);
    if (state.stdout.trim() !== 'true') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const logs = await podman([...storage, 'logs', name], { check: false });
  throw new Error(`container ${name} never answered on port ${port}:\n${logs.stdout}${logs.stderr}`);
}

/** `podman logs` of a container, stdout and stderr together. */
export async function logsOf(name: string, storage: string[] = []): Promise<string> {
  const { stdout, stderr } = await podman([...storage, 'logs', name], { check: false });
  return `${stdout}${stderr}`;
}

/**
 * Runs container `name` of `image` (in `storage`) to its end, with `flags`, PORT a free port and
 * DATABASE_URL `databaseUrl`; resolves with its exit code and output.
 */
export async function runToEnd(
  name: string,
  image: string,
  { flags, databaseUrl, storage = [] }: { flags: string[]; databaseUrl: string; storage?: string[] },
): Promise<{ code: number | null; output: string }> {
  const port = await freePort();
  const { code, stdout, stderr } = await podman(
    [...storage, 'run', '--name', name, ...flags, '--env', `PORT=${port}`, '--env', `DATABASE_URL=${databaseUrl}`, image],
    { check: false },
  );
  return { code, output: `${stdout}${stderr}` };
}

/** What every restored container's log says, and what a cold start would have said. */
export const RESTORED_LINE = /crac: restore\s+[\d.]+ ms {2}pid \d+/;
export const COLD_START_LINE = '"event":"listening"';
