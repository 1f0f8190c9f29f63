import { copyFile, constants as fsConstants, link, mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { PROCESSED_DIRS } from './discover.js';

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

/** `name.tsv`, then `name.1.tsv`, `name.2.tsv`…: a clash never overwrites an earlier file. */
function candidate(name: string, n: number): string {
  if (n === 0) return name;
  const ext = extname(name);
  return `${name.slice(0, name.length - ext.length)}.${n}${ext}`;
}

/**
 * Moves `file` into its destination folder without ever replacing a file
 * there (hard link, which fails on an existing name, then unlink). Returns
 * the new path, or the old one when the file is already where it belongs.
 * With `sidecar`, writes `<new name>.error.json` next to it.
 */
export async function moveFinished(file: string, to: Destination, sidecar?: unknown): Promise<string> {
  const dir = destinationDir(file, to);
  let target = file;
  if (dir) {
    await mkdir(dir, { recursive: true });
    for (let n = 0; ; n++) {
      const attempt = join(dir, candidate(basename(file), n));
      try {
        await link(file, attempt);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          // the same inode already there: an earlier move was interrupted between link and unlink (a crash)
          const [a, b] = await Promise.all([stat(file), stat(attempt).catch(() => null)]);
          if (b && a.dev === b.dev && a.ino === b.ino) {
            target = attempt;
            break;
          }
          continue;
        }
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw err;
        // no hard links here: an exclusive copy still never overwrites
        try {
          await copyFile(file, attempt, fsConstants.COPYFILE_EXCL);
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
        await unlink(target).catch(() => {});
        throw err;
      }
    }
    await unlink(file);
  } else if (sidecar !== undefined) await writeFile(`${target}.error.json`, `${JSON.stringify(sidecar, null, 2)}\n`);
  return target;
}
