import { copyFile, constants as fsConstants, writeFile } from 'node:fs/promises';
import { linkSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { statOrNull } from '../util/fs-meta.js';
import { basename, dirname, join } from 'node:path';
import { candidate, releaseTaken, removeIfTaken, type Taken } from './taken.js';

/**
 * A finished file's move to `parsed/` or `error/` (the pin of the file taken for processing: taken.ts).
 */

/** The folders a device's finished files move to: never read as input. */
export const PROCESSED_DIRS: ReadonlySet<string> = new Set(['parsed', 'error']);

export type Destination = 'parsed' | 'error';

/**
 * Where a finished file goes: `<device>/parsed/` or `<device>/error/`. A file
 * already in the destination stays; a file in the other processed folder
 * (re-ingested from error/, say) moves to its device's destination.
 */
export function destinationDir(file: string, to: Destination): string | null {
  const parent = dirname(file);
  const here = basename(parent);
  if (here === to) return null;
  const device = PROCESSED_DIRS.has(here) ? dirname(parent) : parent;
  return join(device, to);
}

/**
 * Moves `file` into its destination folder without ever replacing a file
 * there (hard link, which fails on an existing name, then unlink). Returns
 * the new path, or the old one when the file is already where it belongs.
 * With `sidecar`, writes `<new name>.error.json` next to it.
 *
 * With `taken` (takeFile), what is moved is the pinned file that was read, under the path's name; the
 * path is removed only while it still is that file (a new version renamed over it stays, to be ingested).
 */
export async function moveFinished(file: string, to: Destination, sidecar?: unknown, taken?: Taken): Promise<string> {
  const dir = destinationDir(file, to);
  const source = taken ? taken.pin : file;
  let target = file;
  if (dir) {
    // the folder, the links and looks synchronous, as every metadata call on the data root (util/fs-meta.ts)
    mkdirSync(dir, { recursive: true });
    for (let n = 0; ; n++) {
      const attempt = join(dir, candidate(basename(file), n));
      try {
        linkSync(source, attempt);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          // the same inode already there: an earlier move was interrupted between link and unlink (a crash)
          const a = statSync(source);
          const b = statOrNull(attempt);
          if (b && a.dev === b.dev && a.ino === b.ino) {
            target = attempt;
            break;
          }
          continue;
        }
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw err;
        // no hard links here: an exclusive copy still never overwrites
        try {
          await copyFile(source, attempt, fsConstants.COPYFILE_EXCL);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
          throw e;
        }
      }
      target = attempt;
      break;
    }
    // the cause first: a failure here leaves the file where it was, not in error/ without its cause
    if (sidecar !== undefined) {
      try {
        await writeFile(`${target}.error.json`, `${JSON.stringify(sidecar, null, 2)}\n`);
      } catch (err) {
        try {
          unlinkSync(target);
        } catch {
          // the sidecar's failure is the one to report
        }
        throw err;
      }
    }
    if (taken) {
      await removeIfTaken(file, taken);
      try {
        unlinkSync(taken.pin);
      } catch {
        // the pin is gone already: the bytes are in the destination all the same
      }
    } else unlinkSync(file);
  } else {
    if (sidecar !== undefined) await writeFile(`${target}.error.json`, `${JSON.stringify(sidecar, null, 2)}\n`);
    // already where it belongs (re-ingested from parsed/): only the pin goes
    if (taken) await releaseTaken(file, taken);
  }
  return target;
}
