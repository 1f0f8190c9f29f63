import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { isIgnoredName } from '../pipeline/discover.js';
import { classify } from './hook.js';

export interface WatchOptions {
  /** a file is complete once its size and mtime have not changed for this long */
  settleMs: number;
  /** full walk of the data root this often (files no event or watch announced) */
  rescanMs: number;
  /** is the file already queued or being processed? */
  knows: (path: string) => boolean;
  /** a settled file: complete, to be ingested; `at` = its last change (ms epoch) */
  onSettled: (path: string, at: number) => void;
  log?: Logger;
}

interface Candidate {
  size: number;
  mtimeMs: number;
  /** when size and mtime were last seen to change */
  since: number;
}

/**
 * The safety net of continuous mode (DESIGN §5): a recursive directory watch
 * plus a periodic rescan of the data root find files no hook announced (the
 * service was down during an upload, another SFTP server wrote them). Such a
 * file is complete only once its size and mtime have been stable for
 * `settleMs`; until then it is only looked at, never read. SFTPGo's temporary
 * upload files and dot-files are ignored, so are parsed/ and error/.
 */
export class RootWatch {
  private readonly candidates = new Map<string, Candidate>();
  private watcher: FSWatcher | null = null;
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
    try {
      this.watcher = watch(this.root, { recursive: true }, (_event, name) => {
        if (name) this.consider(join(this.root, name.toString()));
      });
      this.watcher.on('error', (err) => {
        // the rescan still finds everything, later
        this.options.log?.warn({ event: 'watch', error: errorMessage(err) }, 'directory watch failed: the periodic rescan carries on');
        this.watcher?.close();
        this.watcher = null;
      });
    } catch (err) {
      this.options.log?.warn({ event: 'watch', error: errorMessage(err) }, 'directory watch unavailable: relying on the periodic rescan');
    }
    const every = Math.max(100, Math.min(1000, this.options.settleMs / 4));
    this.tick = setInterval(() => void this.check(), every);
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
    try {
      for (const company of await list(this.root)) {
        for (const campaign of await list(company)) {
          for (const device of await list(campaign)) {
            for (const file of await list(device)) this.consider(file);
          }
        }
      }
    } catch (err) {
      this.options.log?.warn({ event: 'rescan', error: errorMessage(err) }, 'rescan failed');
    }
  }

  /** A path that may be a new or changing file. */
  private consider(path: string): void {
    if (this.stopped || this.candidates.has(path)) return;
    // the hook's rule: `<company>/<campaign>/<device>/<file>`, no hidden part, no temp upload, not parsed/ or error/
    if (classify(this.root, path).kind !== 'file') return;
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
    const settled: Array<[string, number]> = [];
    for (const [path, c] of this.candidates) {
      if (this.options.knows(path)) {
        this.candidates.delete(path);
        continue;
      }
      const st = await lstat(path).catch(() => null);
      if (!st || !st.isFile()) {
        this.candidates.delete(path);
        continue;
      }
      if (st.size !== c.size || st.mtimeMs !== c.mtimeMs) {
        c.size = st.size;
        c.mtimeMs = st.mtimeMs;
        c.since = now;
        continue;
      }
      if (now - c.since >= this.options.settleMs) {
        this.candidates.delete(path);
        settled.push([path, Math.min(now, Math.round(st.mtimeMs))]);
      }
    }
    for (const [path, at] of settled) if (!this.stopped) this.options.onSettled(path, at);
  }

  /** Files seen and not yet settled. */
  get settling(): number {
    return this.candidates.size;
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    if (this.tick) clearInterval(this.tick);
    if (this.rescanTimer) clearInterval(this.rescanTimer);
  }
}
