import { readFileSync } from 'node:fs';

/** A socket of this network namespace, as /proc/net shows it. */
export interface SocketInfo {
  readonly protocol: 'tcp' | 'udp' | 'unix';
  /** TCP: `listening`, `established`, `close-wait`...; unix: `listening`, `connected`, `unconnected`. */
  readonly state: string;
  /** `127.0.0.1:8080`, `[::1]:8080`; a unix socket's path (or `@abstract`), if bound. */
  readonly local?: string;
  /** The peer's address, for a connected TCP or UDP socket. */
  readonly remote?: string;
  /** The peer's port (TCP, UDP), to tell which service it is. */
  readonly remotePort?: number;
}

const TCP_STATES: Record<string, string> = {
  '01': 'established',
  '02': 'syn-sent',
  '03': 'syn-recv',
  '04': 'fin-wait-1',
  '05': 'fin-wait-2',
  '06': 'time-wait',
  '07': 'close',
  '08': 'close-wait',
  '09': 'last-ack',
  '0A': 'listening',
  '0B': 'closing',
};

/** Unix socket flag __SO_ACCEPTCON: the socket listens. */
const SO_ACCEPTCON = 0x10000;

/**
 * Reads the socket tables of /proc/net (tcp, tcp6, udp, udp6, unix) into one map by inode.
 * A table that cannot be read (IPv6 disabled...) is skipped.
 */
export function readSocketTable(procNet = '/proc/net'): Map<number, SocketInfo> {
  const sockets = new Map<number, SocketInfo>();
  for (const [file, protocol] of [
    ['tcp', 'tcp'],
    ['tcp6', 'tcp'],
    ['udp', 'udp'],
    ['udp6', 'udp'],
  ] as const) {
    for (const fields of rows(`${procNet}/${file}`)) {
      const [, local = '', remote = '', state = '', , , , , , inode = '0'] = fields;
      const remotePort = portOf(remote);
      const connected = remotePort !== 0;
      sockets.set(Number(inode), {
        protocol,
        state: protocol === 'tcp' ? (TCP_STATES[state] ?? state) : connected ? 'connected' : 'bound',
        local: formatAddress(local),
        ...(connected ? { remote: formatAddress(remote), remotePort } : {}),
      });
    }
  }
  for (const fields of rows(`${procNet}/unix`)) {
    const [, , , flags = '0', , state = '', inode = '0', path] = fields;
    const listening = (Number.parseInt(flags, 16) & SO_ACCEPTCON) !== 0;
    sockets.set(Number(inode), {
      protocol: 'unix',
      state: listening ? 'listening' : state === '03' ? 'connected' : 'unconnected',
      ...(path ? { local: path } : {}),
    });
  }
  return sockets;
}

function rows(file: string): string[][] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .map((line) => line.trim().split(/\s+/));
}

function portOf(hexAddress: string): number {
  return Number.parseInt(hexAddress.split(':')[1] ?? '0', 16);
}

/** `0100007F:1F90` -> `127.0.0.1:8080`; 32 hex digits (IPv6, four host-order words) -> `[::1]:8080`. */
export function formatAddress(hexAddress: string): string {
  const [hex = '', port = '0'] = hexAddress.split(':');
  const portNumber = Number.parseInt(port, 16);
  const words = (hex.match(/.{8}/g) ?? []).map((word) => (word.match(/../g) ?? []).reverse().map((byte) => Number.parseInt(byte, 16)));
  const bytes = words.flat();
  if (bytes.length === 4) return `${bytes.join('.')}:${portNumber}`;
  // IPv4-mapped (::ffff:a.b.c.d): show as IPv4
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `${bytes.slice(12).join('.')}:${portNumber}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  const text = groups
    .join(':')
    .replace(/(^|:)0(:0)+(:|$)/, '::')
    .replace(/:{3,}/, '::');
  return `[${text}]:${portNumber}`;
}
