import { copyFile, link, lstat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import {
  DEFAULT_STALL_MS,
  changedSince,
  pollEvery,
  settled,
  stampOf,
  type FileStamp,
  type Sighting,
} from './settle.js';

/** Files taken by the watch that are still looked at, at most (oldest forgotten first). */
export const TAKEN_MAX = 10_000;

interface Taken {
  /** where the file was found (its device folder + name) */
  origin: string;
  /** where it is now (parsed/) */
  moved: string;
  /** the version ingested last: its inode, the bytes read, its mtime once moved */
  stamp: FileStamp;
  /** ms epoch of the last change seen (the take, or the last retake) */
  since: number;
  /** a change under way: what was seen last and when it last changed */
  changing: Sighting | null;
}

export interface RetakeOptions {
  settleMs: number;
  stallMs?: number;
  /**
   * the copy of the new version, complete, at `<device>/<name>`: to ingest (the exactly-once planner counts what is
   * held)
   */
  onRetake: (copy: string, moved: string) => void;
  log?: Logger;
}

/**
 * A file found by the watch (no upload event) may still be written after it
 * was taken: a plain SFTP server has no hooks, and a client that stalled
 * longer than --settle on a line boundary goes on writing into the inode that
 * now is in parsed/. Such files are remembered (bounded: TAKEN_MAX, and no
 * longer than --stall after their last change) and looked at as the watch
 * polls; one that grew or changed is taken again once it is complete by the
 * watch's rule (stable for --settle and ending with a newline, or past
 * --stall): its bytes are copied to `<device>/<name>` and ingested from there
 * (then `parsed/<name>.1.tsv`…), the points already held are counted as held.
 * The inode in parsed/ is kept as the client left it.
 */
export class TakenFiles {
  private readonly taken = new Map<string, Taken>();
  private tick: NodeJS.Timeout | null = null;
  private checking = false;
  private stopped = false;

  constructor(private readonly options: RetakeOptions) {}

  start(): void {
    this.tick = setInterval(() => void this.check(), pollEvery(this.options.settleMs));
    this.tick.unref();
  }

  /** A watch-found file ingested and moved to `moved`; `bytes` = what the pipeline read. */
  async remember(origin: string, moved: string, bytes: number): Promise<void> {
    const st = await lstat(moved).catch(() => null);
    if (!st || !st.isFile() || this.stopped) return;
    this.taken.delete(moved);
    this.taken.set(moved, {
      origin,
      moved,
      stamp: { ...stampOf(st), size: bytes },
      since: Date.now(),
      changing: null,
    });
    if (this.taken.size > TAKEN_MAX) this.taken.delete(this.taken.keys().next().value!);
    // already more than what was read: changing
    if (st.size !== bytes) this.taken.get(moved)!.changing = { size: st.size, mtimeMs: st.mtimeMs, since: Date.now() };
  }

  get size(): number {
    return this.taken.size;
  }

  private async check(): Promise<void> {
    if (this.checking || this.stopped) return;
    this.checking = true;
    try {
      for (const [key, e] of [...this.taken]) if (!(await this.look(e))) this.taken.delete(key);
    } finally {
      this.checking = false;
    }
  }

  /** Looks at one taken file: false when it is no longer worth looking at (gone, replaced, unchanged past --stall). */
  private async look(e: Taken): Promise<boolean> {
    const now = Date.now();
    const st = await lstat(e.moved).catch(() => null);
    if (!st || !st.isFile() || st.ino !== e.stamp.ino || st.dev !== e.stamp.dev) return false;
    if (!e.changing) {
      if (st.size === e.stamp.size && st.mtimeMs === e.stamp.mtimeMs)
        return now - e.since <= (this.options.stallMs ?? DEFAULT_STALL_MS);
      e.changing = { size: st.size, mtimeMs: st.mtimeMs, since: now };
      return true;
    }
    if (changedSince(e.changing, st, now)) return true;
    if (!(await settled(e.moved, st.size, e.changing.since, now, this.options))) return true;
    // back to its stamp (a touch, or a rewrite to the same bytes' size and time): nothing new
    if (st.size === e.stamp.size && st.mtimeMs === e.stamp.mtimeMs) {
      e.changing = null;
      return true;
    }
    const copy = await this.copyBack(e);
    if (!copy) return true; // the name is in use in the device folder (a new upload): next poll
    this.options.log?.warn(
      { event: 'changed_after_take', path: e.origin, moved: e.moved, bytes_taken: e.stamp.size, bytes_now: st.size },
      'file changed after it was taken (a client still writing): its new version is taken again',
    );
    e.stamp = stampOf(st);
    e.since = now;
    e.changing = null;
    if (!this.stopped) this.options.onRetake(copy, e.moved);
    return true;
  }

  /** Copies the moved file's bytes to its original name (never over an existing file); the copy's path, or null. */
  private async copyBack(e: Taken): Promise<string | null> {
    const tmp = join(dirname(e.origin), `.${basename(e.origin)}.pv-retake`);
    try {
      await copyFile(e.moved, tmp);
      try {
        await link(tmp, e.origin);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
        throw err;
      }
      return e.origin;
    } catch (err) {
      this.options.log?.warn(
        { event: 'changed_after_take', path: e.origin, error: errorMessage(err) },
        'could not copy a changed file back: retried',
      );
      return null;
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.tick) clearInterval(this.tick);
  }
}
