import { watch, type FSWatcher } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { lstatOrNull } from '../util/fs-meta.js';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { isIgnoredName } from '../pipeline/discover.js';
import { classify } from './hook.js';
import { changedSince, isDataName, pollEvery, settled, stampOf, type FileStamp, type Sighting } from './settle.js';

export interface WatchOptions {
  /** a file is complete once its size and mtime have not changed for this long */
  settleMs: number;
  /** a stable file whose last byte is not a newline is taken anyway once unchanged this long (--stall) */
  stallMs?: number;
  /** full walk of the data root this often (files no event or watch announced) */
  rescanMs: number;
  /** is the file already queued or being processed? */
  knows: (path: string) => boolean;
  /** a settled file: complete, to be ingested; `at` = its last change (ms epoch); `st` its size, inode and mtime */
  onSettled: (path: string, at: number, st: FileStamp) => void;
  log?: Logger;
}

/**
 * The safety net of continuous mode (docs/architecture.md#pipeline-and-serve): a recursive directory watch
 * plus a periodic rescan of the data root find files no hook announced (the
 * service was down during an upload, another SFTP server wrote them). Such a
 * file is complete only once its size and mtime have been stable for
 * `settleMs` and its last byte is a newline (a client that stalls mid-line
 * has not finished; after `stallMs` unchanged it is taken all the same); until
 * then it is only looked at, never read. Only `*.tsv` files are taken: SFTP
 * clients' temporary names (`*.part`, `*.filepart`, `*.tmp`), SFTPGo's
 * temporary upload files, other files and dot-files are left alone, so are
 * parsed/ and error/.
 */
export class RootWatch {
  private readonly candidates = new Map<string, Sighting>();
  /** watched folders (root, companies, campaigns, devices) → their watch */
  private readonly watchers = new Map<string, FSWatcher>();
  private tick: NodeJS.Timeout | null = null;
  private rescanTimer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly root: string,
    private readonly options: WatchOptions,
  ) {}

  /** Starts watching; the first full scan runs at once (files left by the previous process). */
  start(): void {
    // one non-recursive watch per folder of the root, company, campaign and device levels (added by the walk and
    // by the parent's events), never parsed/ or error/: Node 20's recursive watch keeps a watch and a Stats per
    // file of the whole archive (memory bounds, docs/operations.md)
    this.watchFolder(this.root, 0);
    this.tick = setInterval(() => void this.check(), pollEvery(this.options.settleMs));
    this.tick.unref();
    this.rescanTimer = setInterval(() => void this.rescan(), this.options.rescanMs);
    this.rescanTimer.unref();
    void this.rescan();
  }

  /** Walks the whole root once (also what the periodic rescan does). */
  rescan(): Promise<void> {
    this.scanning ??= this.walk().finally(() => (this.scanning = null));
    return this.scanning;
  }

  private async walk(): Promise<void> {
    const list = async (dir: string): Promise<string[]> => {
      try {
        const entries = await readdir(dir, { withFileTypes: true });
        // symlinks are not uploads (the scheduler refuses them too): not even looked at
        return entries.filter((e) => !isIgnoredName(e.name) && !e.isSymbolicLink()).map((e) => join(dir, e.name));
      } catch {
        return [];
      }
    };
    const seen = new Set<string>([this.root]);
    try {
      for (const company of await list(this.root)) {
        this.watchFolder(company, 1);
        seen.add(company);
        for (const campaign of await list(company)) {
          this.watchFolder(campaign, 2);
          seen.add(campaign);
          for (const device of await list(campaign)) {
            this.watchFolder(device, 3);
            seen.add(device);
            for (const file of await list(device)) this.consider(file);
          }
        }
      }
      // folders removed since: their watches go (a walk that failed half-way keeps them)
      for (const [folder, w] of this.watchers) {
        if (!seen.has(folder)) {
          w.close();
          this.watchers.delete(folder);
        }
      }
    } catch (err) {
      this.options.log?.warn({ event: 'rescan', error: errorMessage(err) }, 'rescan failed');
    }
  }

  /** a folder below the root could not be watched, and the log said so */
  private unwatchedTold = false;

  /** Watches one folder (level 0 root … 3 device); a new folder announced in it is watched and walked in turn. */
  private watchFolder(folder: string, level: number): void {
    if (this.stopped || this.watchers.has(folder)) return;
    let w: FSWatcher;
    try {
      w = watch(folder, (_event, name) => {
        if (!name) return;
        const path = join(folder, name);
        if (level === 3) this.consider(path);
        else if (!isIgnoredName(name)) void this.folderAppeared(path, level + 1);
      });
    } catch (err) {
      // the rescan still finds everything, later
      if (level === 0)
        this.options.log?.warn(
          { event: 'watch', error: errorMessage(err) },
          'directory watch unavailable: relying on the periodic rescan',
        );
      else if (!this.unwatchedTold && (err as NodeJS.ErrnoException).code !== 'ENOENT') {
        // told once: past the kernel's limit every further folder fails alike, at every rescan
        this.unwatchedTold = true;
        this.options.log?.warn(
          { event: 'watch', folder, code: (err as NodeJS.ErrnoException).code, error: errorMessage(err) },
          'folder not watched (inotify limit? raise fs.inotify.max_user_watches): files there are found by the ' +
            'periodic rescan only',
        );
      }
      return;
    }
    w.on('error', (err) => {
      if (level === 0)
        this.options.log?.warn(
          { event: 'watch', error: errorMessage(err) },
          'directory watch failed: the periodic rescan carries on',
        );
      w.close();
      if (this.watchers.get(folder) === w) this.watchers.delete(folder);
    });
    this.watchers.set(folder, w);
  }

  /** A name appeared (or went) in a watched root, company or campaign folder. */
  private async folderAppeared(path: string, level: number): Promise<void> {
    const st = lstatOrNull(path);
    if (!st || !st.isDirectory()) {
      const w = this.watchers.get(path);
      w?.close();
      this.watchers.delete(path);
      return;
    }
    if (this.watchers.has(path)) return;
    this.watchFolder(path, level);
    // what it held before its watch began
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (isIgnoredName(e.name) || e.isSymbolicLink()) continue;
      const child = join(path, e.name);
      if (level === 3) this.consider(child);
      else if (e.isDirectory()) await this.folderAppeared(child, level + 1);
    }
  }

  /** A path that may be a new or changing file. */
  private consider(path: string): void {
    if (this.stopped || this.candidates.has(path)) return;
    // the hook's rule: `<company>/<campaign>/<device>/<file>`, no hidden part, no temp upload, not parsed/ or error/
    if (classify(this.root, path).kind !== 'file' || !isDataName(path)) return;
    if (this.options.knows(path)) return;
    // first sighting: settles from now on, unless it keeps changing
    this.candidates.set(path, { size: -1, mtimeMs: -1, since: Date.now() });
  }

  private checking = false;

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.checkAll();
    } finally {
      this.checking = false;
    }
  }

  private async checkAll(): Promise<void> {
    const now = Date.now();
    // handed over together after the look: a backlog reaches the scheduler at once, which puts it in export order
    const done: Array<[string, number, FileStamp]> = [];
    for (const [path, c] of this.candidates) {
      if (this.options.knows(path)) {
        this.candidates.delete(path);
        continue;
      }
      const st = lstatOrNull(path);
      if (!st || !st.isFile()) {
        this.candidates.delete(path);
        continue;
      }
      if (changedSince(c, st, now)) continue;
      // stable, but cut mid-line: the client stalled (or is slow); taken only past the stall bound
      if (!(await settled(path, st.size, c.since, now, this.options))) continue;
      this.candidates.delete(path);
      done.push([path, Math.min(now, Math.round(st.mtimeMs)), stampOf(st)]);
    }
    for (const [path, at, stamp] of done) if (!this.stopped) this.options.onSettled(path, at, stamp);
  }

  /**
   * A path to look at as if the watch had found it (a journal event whose file changed since): the settle rule applies.
   */
  offer(path: string): void {
    this.consider(path);
  }

  /** Files seen and not yet settled. */
  get settling(): number {
    return this.candidates.size;
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    if (this.tick) clearInterval(this.tick);
    if (this.rescanTimer) clearInterval(this.rescanTimer);
  }
}
