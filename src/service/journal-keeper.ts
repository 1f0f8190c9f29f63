import { lstat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { Journal, JournalEvent } from './journal.js';
import { stampOf, type FileStamp } from './settle.js';

/** What the journal keeps for serve, and how busy serve is. */
export interface Backlog {
  /** every event still to do: files held (with what their event saw) and provisioning */
  unfinished(): JournalEvent[];
  /** files pending or in flight */
  files(): number;
  /** nothing queued at all (files and provisioning) */
  idle(): boolean;
}

/** Past this many appends the journal is rewritten even while busy. */
const COMPACT_APPENDS = 10_000;
/** Past this many files held, compaction waits longer after a file is done (each rewrites every event left). */
const LARGE_BACKLOG = 10_000;

/**
 * serve's journal policy (docs/architecture.md, durability points): events
 * accepted by a previous process are replayed at start; the journal is
 * rewritten with only what is left soon after files finish, when serve is
 * idle, or when it grows, so a crash never replays events whose files are
 * done.
 */
export class JournalKeeper {
  /** journaled files finished since the last compaction */
  private finishedSinceCompact = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    readonly journal: Journal,
    private readonly backlog: Backlog,
    private readonly log?: Logger,
  ) {}

  /** Rewrites the journal with what is left; a failure is logged (the journal stays as it was). */
  compact(): Promise<void> {
    return this.journal
      .compact(() => this.backlog.unfinished())
      .catch((err: unknown) =>
        this.log?.warn({ event: 'journal', error: errorMessage(err) }, 'journal compaction failed'),
      );
  }

  /** A journaled file is done: compacted soon after (later with a large backlog). */
  fileFinished(): void {
    this.finishedSinceCompact++;
    if (this.timer || this.stopped) return;
    const delay = this.backlog.files() > LARGE_BACKLOG ? 30_000 : 1000;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped || (this.finishedSinceCompact === 0 && this.journal.appended === 0)) return;
      this.finishedSinceCompact = 0;
      void this.compact();
    }, delay);
    this.timer.unref();
  }

  /** The backlog changed: idle, or the journal grows, it is rewritten with only what is left. */
  maybeCompact(): void {
    const appended = this.journal.appended;
    if ((this.backlog.idle() && appended > 0) || appended > COMPACT_APPENDS) void this.compact();
  }

  /** The previous process's journal: its events queued again, a file changed since its event settles first. */
  async replay(left: readonly JournalEvent[], to: ReplayTarget): Promise<void> {
    let changed = 0;
    for (const e of left) {
      const r = await replayed(e);
      if (!r) continue;
      if ('changed' in r) {
        to.offer(r.changed);
        changed++;
      } else to.accept(r.event, r.stamp);
    }
    if (changed > 0)
      this.log?.info(
        { event: 'journal_replay', changed },
        'journaled files changed since their event: they settle first',
      );
  }

  /** Draining: no more timed compactions (stop() of the service compacts once, at the end). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

/** How a replayed event is taken up. */
export interface ReplayTarget {
  /** a file changed since its event: it settles first (the watch's rule) */
  offer(path: string): void;
  /** an event queued again, with what its file is (upload events) */
  accept(e: JournalEvent, stamp: FileStamp | null): void;
}

/** A journaled upload event, as replayed: taken as it is (its stamp), or to settle first (its file changed). */
type Replayed = { event: JournalEvent; stamp: FileStamp | null } | { changed: string } | null;

/**
 * One event of the previous process's journal. An upload event is authoritative only for the bytes it announced: a
 * file written again since (a new upload under the same name, stale events replayed after a crash) is found complete
 * by the watch's rule instead; a file gone was finished (moved) before the journal was compacted.
 */
async function replayed(e: JournalEvent): Promise<Replayed> {
  if (e.kind !== 'upload') return { event: e, stamp: null };
  const st = await lstat(e.path).catch(() => null);
  if (!st) return null;
  if (e.size !== st.size || e.ino !== st.ino || e.mtimeMs !== st.mtimeMs) return { changed: e.path };
  return { event: e, stamp: stampOf(st) };
}

/** The scheduler's unfinished files as upload events, each with what its event (or the watch) saw. */
export function uploadEvents(
  files: ReadonlyArray<{ path: string; at: number }>,
  stamps: ReadonlyMap<string, FileStamp>,
): JournalEvent[] {
  return files.map((f): JournalEvent => {
    const st = stamps.get(f.path);
    return {
      kind: 'upload',
      path: f.path,
      at: f.at,
      ...(st ? { size: st.size, ino: st.ino, mtimeMs: st.mtimeMs } : {}),
    };
  });
}
