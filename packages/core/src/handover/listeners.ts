import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadNative } from '../engine/criu/native.js';
import { ErrorCode } from '../errors.js';
import { listenSlotFile } from '../image/layout.js';
import type { ListenerRecord } from '../image/manifest.js';
import { statAside } from '../fs-aside.js';
import { processRecord } from '../process-record.js';

/**
 * Listening sockets through a checkpoint, without a refused connection (PROTOCOL.md, "Listening
 * sockets").
 *
 * Before the dump a server hands its TCP listening socket over ({@link handOver}): a holder
 * process outside the dumped tree keeps it bound (crac.node `holdListeners`), the server closes
 * its own descriptor, and clients that connect meanwhile wait in the kernel's backlog. The image
 * holds no listener, so a restored copy never fights the original for the port.
 *
 * The engine then records every socket handed over in the manifest ({@link openListenSlots}),
 * each with a slot file held open through the dump. After the dump:
 * - the original (left running, or the dump failed) takes its socket back from the holder and
 *   listens on it again: the waiting clients are served;
 * - a restored copy finds on the slot's descriptor the socket its restorer bound first
 *   (crac restore, or crac-init `--listen`), and listens on it; or the empty file, and listens itself.
 */

/** What the server handing a socket over says of it; the engine adds the slot. */
export type ListenerAddress = Omit<ListenerRecord, 'slot'>;

/** One TCP listening socket handed over for this checkpoint. */
export interface HandedOver {
  readonly address: ListenerAddress;
  /** The holder's token, when a holder keeps the socket bound (else the socket was closed). */
  readonly holder: string | undefined;
  /** In a restored copy: the listening socket the restorer bound, on the slot's descriptor. */
  restorerSocket?: number;
}

/** One per process, like the global context (each bundle of @crac/core has its own module copy). */
function registry(): Set<HandedOver> {
  const state = processRecord<{ handedOver: Set<HandedOver> }>();
  state.handedOver ??= new Set();
  return state.handedOver;
}

/**
 * Hands the listening socket `fd` over for the dump: a holder keeps it bound. The caller closes
 * its own descriptor next, and calls {@link takeBack} after the dump (or the rollback).
 * When no holder can be started (no native bridge, a failed fork), the socket is only recorded:
 * it closes with the caller's descriptor, and clients are refused until the server listens again
 * (a `CRAC_ELISTEN` warning says so).
 */
export function handOver(fd: number, address: ListenerAddress): HandedOver {
  let holder: string | undefined;
  try {
    holder = loadNative().holdListeners([fd]);
  } catch (error) {
    holder = undefined;
    // said, not thrown: the checkpoint goes on as it did before listeners were held
    process.emitWarning(
      `@crac/core: the listening socket on ${address.host}:${address.port} cannot be held through the checkpoint (${(error as Error).message}): it is closed, and clients are refused until the server listens again`,
      { code: ErrorCode.LISTEN },
    );
  }
  const handed: HandedOver = { address, holder };
  registry().add(handed);
  return handed;
}

/**
 * After the dump: the descriptor to listen on, or undefined (listen anew). The original takes its
 * socket back from the holder; a restored copy gets the socket its restorer bound, if any (the
 * caller checks it is on the address it wants, and closes it if not).
 */
export function takeBack(handed: HandedOver, restored: boolean): number | undefined {
  registry().delete(handed);
  if (restored) {
    const fd = handed.restorerSocket;
    handed.restorerSocket = undefined;
    return fd;
  }
  if (handed.holder === undefined) return undefined;
  try {
    return loadNative().reclaimListeners(handed.holder)[0];
  } catch (error) {
    // the holder is gone (it cannot be, short of a kill): listen anew
    warnListeningAnew(handed.address, `its holder did not give it back: ${(error as Error).message}`);
    return undefined;
  }
}

/**
 * Says that the server listens on a new socket after the checkpoint instead of the one it held:
 * clients that waited in the old one's backlog were reset.
 */
export function warnListeningAnew(address: { host: string; port: number }, why: string): void {
  process.emitWarning(
    `@crac/core: the listening socket on ${address.host}:${address.port} was not taken back after the checkpoint (${why}): the server listens anew, and clients that waited during the checkpoint were reset`,
    { code: ErrorCode.LISTEN },
  );
}

/** The slot descriptors the engine held through the dump, one per socket handed over. */
export interface ListenSlots {
  /** For the manifest. */
  readonly records: ListenerRecord[];
  /** After the dump: in a copy, gives each socket its restorer's socket; closes the empty slots. */
  settle(restored: boolean): void;
  /** Closes every slot descriptor (a failed dump). */
  close(): void;
}

/**
 * For the engine, right before the dump: one empty slot file per socket handed over in `dir` (as
 * `via`, a path this process can write through; `named`, the path the manifest records), each
 * held open read-only through the dump.
 */
export function openListenSlots(dir: { via: string; path: string }): ListenSlots {
  const handed = [...registry()];
  const fds: number[] = [];
  const close = () => {
    for (const fd of fds.splice(0)) closeSync(fd);
  };
  try {
    const records = handed.map((socket, index) => {
      const name = listenSlotFile(index);
      writeFileSync(join(dir.via, name), '', { mode: 0o600 });
      fds.push(openSync(join(dir.via, name), 'r'));
      return { ...socket.address, slot: join(dir.path, name) };
    });
    return {
      records,
      settle(restored) {
        fds.forEach((fd, index) => {
          const socket = handed[index];
          if (restored && socket && statAside(fd).isSocket()) socket.restorerSocket = fd;
          else closeSync(fd);
        });
        fds.length = 0;
      },
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}
