import { copyFile, constants as fsConstants, open, readdir, stat, unlink } from 'node:fs/promises';
import { linkSync, renameSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { statOrNull } from '../util/fs-meta.js';

/** `name.tsv`, then `name.1.tsv`, `name.2.tsv`…: a clash never overwrites an earlier file. */
export function candidate(name: string, n: number): string {
  if (n === 0) return name;
  const ext = extname(name);
  return `${name.slice(0, name.length - ext.length)}.${n}${ext}`;
}

/**
 * A file taken for processing: a hidden hard link beside it (`.pv-taken.<pid>-<host>.<n>.<name>`) pins
 * the inode that is read, whatever is renamed over the path meanwhile (an SFTPGo atomic re-upload). The
 * pipeline reads the pin; the move links the pin, never what the path holds by then. Where hard links are
 * refused, the pin is a copy made from one open descriptor, with that descriptor's identity.
 */
export interface Taken {
  /** the hidden name holding the bytes read */
  pin: string;
  /** the identity of the file at the path when it was taken (dev, ino, size, mtime) */
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  /** no hard link here: the pin is a copy */
  copied: boolean;
}

export const TAKEN_PREFIX = '.pv-taken.';
let takenSeq = 0;

/** `.pv-taken.<pid>-<host>.<n>.<name>`, within a file name's 255 bytes. */
function pinName(path: string): string {
  const head = `${TAKEN_PREFIX}${process.pid}-${hostname()
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, 40)}.${++takenSeq}.`;
  let name = basename(path);
  while (Buffer.byteLength(head + name) > 250) name = name.slice(1);
  return join(dirname(path), head + name);
}

function sameFile(
  a: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs'>,
  b: Pick<Taken, 'dev' | 'ino' | 'size' | 'mtimeMs'>,
): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** Is `path` still the file that was taken? */
export function stillTaken(path: string, taken: Taken): boolean {
  const st = statOrNull(path);
  return !!st && sameFile(st, taken);
}

/** Cannot write beside the file (a read-only archive): it is read where it is, unpinned. */
const unwritable = (err: unknown) => ['EACCES', 'EROFS'].includes((err as NodeJS.ErrnoException).code ?? '');

/**
 * Pins the file at `path` for processing (see Taken). Throws as open() would when the file is not there;
 * null when nothing can be written beside it (the file is then read at its path, as before).
 */
export async function takeFile(path: string): Promise<Taken | null> {
  const pin = pinName(path);
  try {
    // the pin's link and look synchronous, as every metadata call on the data root (util/fs-meta.ts)
    linkSync(path, pin);
    const st = statSync(pin);
    return { pin, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, copied: false };
  } catch (err) {
    if (unwritable(err)) return null;
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'EMLINK') throw err;
  }
  // no hard links: a copy of what one descriptor reads, with that descriptor's identity
  const src = await open(path, 'r');
  try {
    const st = await src.stat();
    let out;
    try {
      out = await open(pin, 'wx');
    } catch (err) {
      if (unwritable(err)) return null;
      throw err;
    }
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const { bytesRead } = await src.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        await out.write(buf.subarray(0, bytesRead));
      }
    } catch (e) {
      await out.close().catch(() => {});
      await unlink(pin).catch(() => {});
      throw e;
    } finally {
      await out.close().catch(() => {});
    }
    return { pin, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, copied: true };
  } finally {
    await src.close().catch(() => {});
  }
}

/**
 * Removes `path` only if it still is the file taken: renamed aside first (atomic), so a new version
 * renamed over the path between the look and the removal is never removed; a new version found aside
 * goes back to the path (or, if yet another took the path, beside it under a free name).
 */
export async function removeIfTaken(path: string, taken: Taken): Promise<void> {
  if (!stillTaken(path, taken)) return;
  const aside = pinName(path);
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const st = statSync(aside);
  if (sameFile(st, taken)) {
    unlinkSync(aside);
    return;
  }
  // not ours after all: a new version arrived in between
  await keepAside(aside, path);
}

/** Gives the bytes at hidden `from` a visible name: `path` if free, else `name.1.tsv`… beside it. Returns it. */
async function keepAside(from: string, path: string): Promise<string> {
  for (let n = 0; ; n++) {
    const attempt = join(dirname(path), candidate(basename(path), n));
    try {
      linkSync(from, attempt);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw err;
      try {
        await copyFile(from, attempt, fsConstants.COPYFILE_EXCL);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw e;
      }
    }
    unlinkSync(from);
    return attempt;
  }
}

/**
 * A taken file left in place (not moved: a store was unavailable, say): the pin goes. If a new version
 * replaced the path meanwhile, the bytes read would be lost with it: they are kept beside it under a free
 * name (`name.1.tsv`), to be ingested as a file of their own. Returns that name, or null.
 */
export async function releaseTaken(path: string, taken: Taken): Promise<string | null> {
  if (!statOrNull(taken.pin)) return null;
  if (stillTaken(path, taken)) {
    unlinkSync(taken.pin);
    return null;
  }
  return keepAside(taken.pin, path);
}

/**
 * Pins a process of this host left behind (it died between taking a file and finishing it; called at
 * start-up, before this process takes any, its own pid counts as a previous process's), under the
 * device folders of `root` (`<root>/<company>/<campaign>/<device>/`): a pin whose bytes have another name
 * (the path, parsed/) goes; the only copy of its bytes gets a visible name beside it, to be ingested.
 */
export async function cleanStalePins(root: string, log?: { warn: (o: object, m: string) => void }): Promise<void> {
  const host = `-${hostname()
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, 40)}.`;
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  const dirs = async (dir: string) =>
    (await readdir(dir, { withFileTypes: true }).catch(() => []))
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => join(dir, e.name));
  for (const company of await dirs(root)) {
    for (const campaign of await dirs(company)) {
      for (const device of await dirs(campaign)) {
        for (const name of await readdir(device).catch(() => [] as string[])) {
          if (!name.startsWith(TAKEN_PREFIX)) continue;
          const m = /^\.pv-taken\.(\d+)(-[^.]*\.)\d+\.(.*)$/.exec(name);
          // our own pid: a previous process's that had it (a container's pid 1), unless this process took files already
          const pid = Number(m?.[1]);
          if (!m || m[2] !== host || (pid === process.pid ? takenSeq > 0 : alive(pid))) continue;
          const pin = join(device, name);
          try {
            const st = await stat(pin);
            if (st.nlink > 1) await unlink(pin);
            else {
              const to = await keepAside(pin, join(device, m[3] || 'recovered.tsv'));
              log?.warn(
                { event: 'taken_recovered', path: to },
                'a file taken by a process that died is kept under a visible name',
              );
            }
          } catch {
            // gone meanwhile, or not ours to touch: left as it is
          }
        }
      }
    }
  }
}

/**
 * The process stops at once (Ctrl-C): the pins of its files whose bytes still have another name (the path,
 * or parsed/ through a hard link) go now, synchronously; a pin that is the only copy of its bytes stays, for the
 * next start's cleanStalePins to give it a visible name.
 */
export function dropPinsNow(tasks: ReadonlyArray<{ path: string; taken?: Taken }>): void {
  for (const { path, taken } of tasks) {
    if (!taken) continue;
    try {
      const pin = statSync(taken.pin);
      const at = statSync(path, { throwIfNoEntry: false });
      const sameBytes = at && at.size === pin.size && at.mtimeMs === pin.mtimeMs;
      if (pin.nlink > 1 || (taken.copied && sameBytes)) unlinkSync(taken.pin);
    } catch {
      // gone already (finished), or not ours to touch: left as it is
    }
  }
}
