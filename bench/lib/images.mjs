// Image and process sizes, read from the file system and /proc.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Total size in bytes of the files of an image directory, CRIU's logs left out. */
export function imageBytes(dir) {
  return readdirSync(dir)
    .filter((file) => !file.endsWith('.log'))
    .reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
}

/** Resident set size of a live process, in bytes (VmRSS). */
export function rssBytes(pid) {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return match ? Number(match[1]) * 1024 : 0;
}

/** Mebibytes, one decimal. */
export function mib(bytes) {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
