import { statSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import type { Logger } from 'pino';
import { ErrorCodes, errorMessage } from '../errors.js';
import { identityOf } from '../pipeline/discover.js';
import type { FileTask } from '../pipeline/pipeline.js';
import type { FileReport } from '../pipeline/report.js';
import { BACKOFF, backoffDelay } from '../util/retry.js';
import { exportOrder } from '../pipeline/export-order.js';

export interface ClaimSource {
  tryClaim(folder: string): Promise<boolean>;
  release(folder: string): Promise<void>;
  isHeld(folder: string): boolean;
}

interface Device {
  folder: string;
  /** complete files not yet handed to the pipeline: path → upload complete (ms epoch) */
  pending: Map<string, number>;
  /** handed to the pipeline, outcome not known yet */
  inFlight: Set<string>;
  /** no claim attempt before this time (another instance holds it, or PostgreSQL is down) */
  notBefore: number;
  attempts: number;
  claiming: boolean;
  /** pending files not yet put in order (they wait for the claim) */
  fresh: string[];
  /** pending files of a held device, by export order (file name): the pipeline takes them from the front */
  order: string[];
  /** in the scheduler's queue of devices with ordered files */
  queued: boolean;
  /** in-flight paths announced again (a re-upload renamed over the file being read): looked at again when done */
  again: Set<string>;
}

/** Files given up (failed for good, could not be moved) remembered at most, oldest forgotten first. */
export const GIVEN_UP_MAX = 10_000;

/** Inserts `path` into `order`, kept in export order (export-order.ts: the same rule as `ingest`). */
function insertInOrder(order: string[], path: string, compare: (a: string, b: string) => number): void {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(order[mid], path) <= 0) lo = mid + 1;
    else hi = mid;
  }
  order.splice(lo, 0, path);
}

/**
 * Decides which complete file the pipeline takes next (docs/architecture.md#pipeline-and-serve). Files are
 * grouped by device folder; a device's files go only once this process holds
 * the device's claim, in export order (the file name holds the export time),
 * devices side by side. The pipeline pulls (async iteration): files wait here,
 * not in the pipeline, so the pipeline's memory does not grow with a backlog.
 * A file left in place (a store was unavailable, the claim was lost) comes
 * back after a backoff; a file that vanished (another instance moved it) is
 * dropped.
 */
export class Scheduler implements AsyncIterable<FileTask> {
  private readonly devices = new Map<string, Device>();
  /** held devices with files in order, first come first served: a backlog costs O(log n) per file, not O(n) */
  private readonly readyDevices: Device[] = [];
  private wake: (() => void) | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly root: string,
    private readonly claims: ClaimSource,
    private readonly log?: Logger,
    /** after each change of the backlog (journal compaction, gauges) */
    private readonly onIdle?: () => void,
    /** the tenant's zone, for export times written as local time in file names */
    timeZone = 'Europe/Paris',
  ) {
    this.compare = exportOrder(timeZone);
  }

  private readonly compare: (a: string, b: string) => number;

  /** Device folder of a path under the root: `<company>/<campaign>/<device>`. */
  folderOf(path: string): string {
    return relative(this.root, dirname(path)).split(sep).join('/');
  }

  /** Is the file waiting or being processed, or was it given up (refused, left in place) and not announced again? */
  knows(path: string): boolean {
    if (this.givenUp.has(path)) return true;
    const d = this.devices.get(this.folderOf(path));
    return !!d && (d.pending.has(path) || d.inFlight.has(path));
  }

  /**
   * files that failed for good but could not be moved (a refused company name, say): not retried until announced again
   */
  private readonly givenUp = new Set<string>();

  /** A complete file to ingest; false when it is already known (a duplicate event). */
  add(path: string, receivedAt: number): boolean {
    if (this.stopped) return false;
    const folder = this.folderOf(path);
    let d = this.devices.get(folder);
    if (!d) {
      d = {
        folder,
        pending: new Map(),
        inFlight: new Set(),
        notBefore: 0,
        attempts: 0,
        claiming: false,
        fresh: [],
        order: [],
        queued: false,
        again: new Set(),
      };
      this.devices.set(folder, d);
    }
    if (d.pending.has(path)) return false;
    if (d.inFlight.has(path)) {
      // a new version may have replaced the file being read: remembered, queued again once this one is done
      if (d.again.has(path)) return false;
      d.again.add(path);
      return true;
    }
    this.givenUp.delete(path);
    d.pending.set(path, receivedAt);
    d.fresh.push(path);
    this.schedule(d);
    return true;
  }

  /** Files known and not yet handed over, and files being processed. */
  get depth(): { pending: number; inFlight: number } {
    let pending = 0;
    let inFlight = 0;
    for (const d of this.devices.values()) {
      pending += d.pending.size;
      inFlight += d.inFlight.size;
    }
    return { pending, inFlight };
  }

  /** Everything not finished: the journal keeps these across a restart. */
  unfinished(): Array<{ path: string; at: number }> {
    const out: Array<{ path: string; at: number }> = [];
    for (const d of this.devices.values()) {
      for (const [path, at] of d.pending) out.push({ path, at });
      for (const path of d.inFlight) out.push({ path, at: Date.now() });
    }
    return out;
  }

  private schedule(d: Device): void {
    if (this.stopped || d.claiming) return;
    if (d.pending.size === 0) {
      if (d.inFlight.size === 0) {
        // nothing left here: the claim goes back, another instance may take the next upload
        this.devices.delete(d.folder);
        void this.claims.release(d.folder);
        this.onIdle?.();
      }
      return;
    }
    const wait = d.notBefore - Date.now();
    if (wait > 0) {
      this.retryLater(wait);
      return;
    }
    if (this.claims.isHeld(d.folder)) {
      // held: its new files join the device's export order
      for (const path of d.fresh) insertInOrder(d.order, path, this.compare);
      d.fresh = [];
      if (!d.queued && d.order.length > 0) {
        d.queued = true;
        this.readyDevices.push(d);
      }
      this.wake?.();
      return;
    }
    d.claiming = true;
    this.claims
      .tryClaim(d.folder)
      .then(
        (ok) => {
          d.attempts = ok ? 0 : d.attempts + 1;
          // another instance works on it: its files will have moved by the time we hold it
          if (!ok) d.notBefore = Date.now() + Math.min(250 * d.attempts, 2000);
        },
        (err: unknown) => {
          d.attempts++;
          d.notBefore = Date.now() + backoffDelay(BACKOFF.claim, d.attempts);
          this.log?.warn(
            { event: 'claim', folder: d.folder, error: errorMessage(err) },
            'claim not taken: PostgreSQL unreachable',
          );
        },
      )
      .finally(() => {
        d.claiming = false;
        this.schedule(d);
      });
  }

  private retryLater(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        for (const d of this.devices.values()) this.schedule(d);
      },
      Math.max(ms, 10),
    );
    this.timer.unref();
  }

  /** The pipeline's outcome for a file: done (moved), or back to pending after a pause. */
  done(report: FileReport, task: FileTask): void {
    const d = this.devices.get(this.folderOf(task.path));
    if (!d) return;
    d.inFlight.delete(task.path);
    const announced = d.again.delete(task.path);
    // the path holds another file than the one read (renamed over it meanwhile): that one is ingested next
    const replaced = !this.stopped && this.replaced(task, announced);
    if (replaced)
      this.log?.info(
        { event: 'replaced', path: task.path },
        'file replaced while it was processed: the new version is queued',
      );
    const leftInPlace = report.moved_to === null || report.moved_to === undefined;
    if (leftInPlace && report.status === 'error' && report.error?.code !== ErrorCodes.STORE_UNAVAILABLE && !replaced) {
      // failed for good and still there: the watch leaves it alone until a new upload announces it
      // bounded (docs/operations.md, memory bounds): past the bound the oldest is forgotten, found again by a rescan,
      // refused again
      this.givenUp.add(task.path);
      if (this.givenUp.size > GIVEN_UP_MAX) this.givenUp.delete(this.givenUp.values().next().value!);
      this.schedule(d);
      return;
    }
    if (leftInPlace && report.status === 'error' && !this.stopped) {
      // a store or the claim failed: the file is still complete and still ours to ingest, later
      d.pending.set(task.path, task.receivedAt ?? Date.now());
      d.fresh.push(task.path);
      d.attempts++;
      d.notBefore = Date.now() + backoffDelay(BACKOFF.fileRetry, d.attempts);
      this.retryLater(d.notBefore - Date.now());
      return;
    }
    if (!leftInPlace || report.status === 'ok') d.attempts = 0;
    if (replaced) this.add(task.path, Date.now());
    this.schedule(d);
  }

  /**
   * Does the path hold another file than the one the pipeline read (task.taken), or, unknown, was it announced
   * meanwhile?
   */
  private replaced(task: FileTask, announced: boolean): boolean {
    if (!task.taken && !announced) return false;
    let st;
    try {
      st = statSync(task.path);
    } catch {
      return false;
    }
    if (!st.isFile()) return false;
    const t = task.taken;
    if (!t) return announced;
    return st.dev !== t.dev || st.ino !== t.ino || st.size !== t.size || st.mtimeMs !== t.mtimeMs;
  }

  /** Intake stops: the iteration ends once the pipeline asks for its next file. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<FileTask> {
    while (!this.stopped) {
      const next = this.takeReady();
      if (!next) {
        await new Promise<void>((r) => (this.wake = r));
        this.wake = null;
        continue;
      }
      const { device: d, path } = next;
      const receivedAt = d.pending.get(path);
      if (receivedAt === undefined) continue;
      d.pending.delete(path);
      // in flight from now on, across the awaits below: a file of the device finishing meanwhile must not
      // find the device empty and release its claim (another instance would take this very file)
      d.inFlight.add(path);
      const drop = () => {
        d.inFlight.delete(path);
        this.schedule(d);
      };
      // held now: if another instance took it first, it has moved it away
      const st = await stat(path).catch(() => null);
      if (!st || !st.isFile()) {
        this.log?.debug({ event: 'skip', path }, 'file gone before its turn (processed by another instance?)');
        drop();
        continue;
      }
      // through a symlink (the file or a folder of its path): its target is not this device's upload, never read it
      const real = await realpath(path).catch(() => null);
      if (real !== path) {
        this.log?.warn({ event: 'skip', path, real }, 'not ingested: the path goes through a symlink');
        drop();
        continue;
      }
      const identity = identityOf(path, this.root);
      if (!identity) {
        drop();
        continue;
      }
      yield { path, identity, size: st.size, root: this.root, receivedAt };
    }
  }

  /** The first held device's earliest file by export order; that device goes on until its ordered files run out. */
  private takeReady(): { device: Device; path: string } | null {
    while (this.readyDevices.length > 0) {
      const d = this.readyDevices[0];
      const path = d.order.shift();
      if (d.order.length === 0) {
        this.readyDevices.shift();
        d.queued = false;
      }
      if (path !== undefined) return { device: d, path };
    }
    return null;
  }
}
