// Ports of 127.0.0.1: one nobody listens on, and waiting for a server to listen.
import { createServer, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A port nobody listens on now: bound on 0, read, closed (other runs may go on beside this one). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function canConnect(port) {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => done(true));
  });
}

/** Waits until `port` accepts connections; fails, with the process's output, if it ends first or on timeout. */
export async function waitForPort(port, { isAlive, output, timeoutMs = 30_000 }) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`the server exited before it was ready:\n${output()}`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`the server did not listen on port ${port} within ${timeoutMs} ms:\n${output()}`);
}
