import type { Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Taken } from '../pipeline/taken.js';

/**
 * The settle rule shared by the watch (watch.ts) and the retake of files
 * still written after they were taken (retake.ts): a file is complete once
 * its size and mtime have not changed for --settle and its last byte is a
 * newline, or once unchanged for --stall whatever its last byte.
 */

/** --stall default: a file stable this long without a final newline is taken anyway */
export const DEFAULT_STALL_MS = 600_000;

/** What identifies one version of a file: its inode, size and mtime (as a taken file's identity, lifecycle.ts). */
export type FileStamp = Pick<Taken, 'dev' | 'ino' | 'size' | 'mtimeMs'>;

export function stampOf(st: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs'>): FileStamp {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

/** A file being looked at: what was seen last, and when it last changed (ms epoch). */
export interface Sighting {
  size: number;
  mtimeMs: number;
  since: number;
}

/** Records what `st` shows; true when it changed since the last look (the settle starts again at `now`). */
export function changedSince(seen: Sighting, st: Pick<Stats, 'size' | 'mtimeMs'>, now: number): boolean {
  if (st.size === seen.size && st.mtimeMs === seen.mtimeMs) return false;
  seen.size = st.size;
  seen.mtimeMs = st.mtimeMs;
  seen.since = now;
  return true;
}

/** How often files are looked at while they settle: a quarter of --settle, within 0.1–1 s. */
export function pollEvery(settleMs: number): number {
  return Math.max(100, Math.min(1000, settleMs / 4));
}

/**
 * Only these are ever taken by the watch: `*.tsv`, any case (an SFTP client's `*.part`, `*.filepart`, `*.tmp`, notes…
 * stay where they are).
 */
export function isDataName(name: string): boolean {
  return name.toLowerCase().endsWith('.tsv');
}

/** Does the file's last byte (at `size` − 1) read a newline? A file cut mid-line is still being written. */
export async function endsWithNewline(path: string, size: number): Promise<boolean> {
  if (size <= 0) return false;
  const fh = await open(path, 'r').catch(() => null);
  if (!fh) return false;
  try {
    const b = Buffer.alloc(1);
    const { bytesRead } = await fh.read(b, 0, 1, size - 1);
    return bytesRead === 1 && b[0] === 10;
  } finally {
    await fh.close();
  }
}

/**
 * Stable for `settleMs` since `since`: complete if it ends with a newline, or whatever its last byte once unchanged
 * for `stallMs` (a client that stalled mid-line).
 */
export async function settled(
  path: string,
  size: number,
  since: number,
  now: number,
  o: { settleMs: number; stallMs?: number },
): Promise<boolean> {
  if (now - since < o.settleMs) return false;
  return now - since >= (o.stallMs ?? DEFAULT_STALL_MS) || (await endsWithNewline(path, size));
}
