import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';

/** events serialized and written per step of a compaction: the event loop runs between steps */
export const COMPACT_CHUNK = 2000;
import { dirname } from 'node:path';

/** One event the service accepted: a file to ingest, or a tenant to provision. */
export interface JournalEvent {
  kind: 'upload' | 'provision';
  /** absolute path (upload: the file; provision: the <company>/<campaign> folder) */
  path: string;
  /** ms since the epoch when the event was accepted (upload complete) */
  at: number;
  /**
   * upload: the file the event announced (size, inode, mtime); a replayed event whose file now differs goes through the
   * settle rule
   */
  size?: number;
  ino?: number;
  mtimeMs?: number;
}

/**
 * The service's durable event queue: an append-only JSON-lines file, fsynced
 * before a hook call is answered 200 (SFTPGo then knows the event will not be
 * lost, whatever happens to this process). Appends arriving together share
 * one write and one fsync. At start the journal is read back; the service
 * rewrites it (compact) with what is still to do, whenever it is idle.
 */
export class Journal {
  private handle: FileHandle | null = null;
  private waiting: Array<{ line: string; resolve: () => void; reject: (err: unknown) => void }> = [];
  private flushQueued = false;
  /** every disk operation runs on this chain, one at a time: appends never interleave with a compaction */
  private tail: Promise<void> = Promise.resolve();
  /** events appended since the last compaction */
  appended = 0;

  constructor(readonly path: string) {}

  /** The events left by the previous process (a torn last line is ignored). */
  load(): JournalEvent[] {
    if (!existsSync(this.path)) return [];
    const out: JournalEvent[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const e = JSON.parse(line) as JournalEvent;
        if ((e.kind === 'upload' || e.kind === 'provision') && typeof e.path === 'string' && typeof e.at === 'number')
          out.push(e);
      } catch {
        // a line torn by a crash mid-write: its hook call was never answered 200, SFTPGo retries it
      }
    }
    return out;
  }

  async open(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    this.handle = await open(this.path, 'a');
  }

  /** Resolves once the event is on disk (written and fsynced). */
  append(event: JournalEvent): Promise<void> {
    if (!this.handle) return Promise.reject(new Error('journal closed'));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ line: `${JSON.stringify(event)}\n`, resolve, reject });
      if (this.flushQueued) return;
      this.flushQueued = true;
      void this.chain(() => this.flush());
    });
  }

  private chain(op: () => Promise<void>): Promise<void> {
    const run = this.tail.then(op);
    this.tail = run.catch(() => {});
    return run;
  }

  private async flush(): Promise<void> {
    this.flushQueued = false;
    const group = this.waiting;
    this.waiting = [];
    if (group.length === 0) return;
    try {
      if (!this.handle) throw new Error('journal closed');
      await this.handle.write(group.map((g) => g.line).join(''));
      await this.handle.datasync();
      this.appended += group.length;
      for (const g of group) g.resolve();
    } catch (err) {
      for (const g of group) g.reject(err);
    }
  }

  /**
   * Rewrites the journal with only what `remaining()` returns, atomically
   * (write, fsync, rename, fsync the folder). Appends wait meanwhile, so an
   * event is either in the snapshot's source or appended after it.
   */
  compact(remaining: () => JournalEvent[]): Promise<void> {
    return this.chain(async () => {
      const events = remaining();
      const tmp = `${this.path}.tmp`;
      // written in chunks, fsynced and renamed asynchronously: a large backlog never holds the event loop (hooks,
      // /metrics)
      const out = await open(tmp, 'w');
      try {
        for (let i = 0; i < events.length; i += COMPACT_CHUNK) {
          await out.write(
            events
              .slice(i, i + COMPACT_CHUNK)
              .map((e) => `${JSON.stringify(e)}\n`)
              .join(''),
          );
        }
        await out.sync();
      } finally {
        await out.close();
      }
      await this.handle?.close();
      await rename(tmp, this.path);
      const dir = await open(dirname(this.path), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      this.handle = await open(this.path, 'a');
      this.appended = 0;
    });
  }

  async close(): Promise<void> {
    await this.chain(async () => {
      await this.handle?.close();
      this.handle = null;
    });
  }
}
