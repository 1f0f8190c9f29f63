import { lstatSync, statSync, type Stats } from 'node:fs';

/**
 * File-system metadata on the data root, asked synchronously on purpose
 * (docs/architecture.md, "File-system calls"): an lstat answered from the
 * kernel's caches costs a few µs in place, ten times that as a libuv
 * request handed to the thread pool and back, and serve asks several per
 * file. File contents are still read and written asynchronously.
 */

/** lstat(path), or null when nothing (or nothing reachable) is there. */
export function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

/** stat(path) through symlinks, or null when nothing (or nothing reachable) is there. */
export function statOrNull(path: string): Stats | null {
  try {
    return statSync(path, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}
