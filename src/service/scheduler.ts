import { dirname, relative, sep } from 'node:path';
import { DEFAULT_V002_TIME_ZONE } from '../tsv/timezone.js';
import type { Logger } from 'pino';
import { ErrorCodes, errorMessage } from '../errors.js';
import { identityOf } from '../pipeline/discover.js';
import type { FileTask } from '../pipeline/pipeline.js';
import type { FileReport } from '../pipeline/report.js';
import { BACKOFF, backoffDelay } from '../util/retry.js';
import { exportOrder } from '../pipeline/export-order.js';
import { Devices, type Device } from './devices.js';
import { checkTake, replacedSince } from './take-check.js';

export interface ClaimSource {
  tryClaim(folder: string): Promise<boolean>;
  release(folder: string): Promise<void>;
  isHeld(folder: string): boolean;
}

/** Files given up (failed for good, could not be moved) remembered at most, oldest forgotten first. */
export const GIVEN_UP_MAX = 10_000;

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
  private readonly devices = new Devices();
  private wake: (() => void) | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** the data root, a real path (no symlink in it): files are checked from it down (take-check.ts) */
    private readonly root: string,
    private readonly claims: ClaimSource,
    private readonly log?: Logger,
    /** after each change of the backlog (journal compaction, gauges) */
    private readonly onIdle?: () => void,
    /** the tenant's zone, for export times written as local time in file names */
    timeZone = DEFAULT_V002_TIME_ZONE,
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
    const d = this.devices.ensure(this.folderOf(path));
    if (d.pending.has(path)) return false;
    if (d.inFlight.has(path)) {
      // a new version may have replaced the file being read: remembered, queued again once this one is done
      if (d.again.has(path)) return false;
      d.again.add(path);
      return true;
    }
    this.givenUp.delete(path);
    this.devices.pend(d, path, receivedAt);
    this.schedule(d);
    return true;
  }

  /** Files known and not yet handed over, and files being processed (kept as files move: O(1)). */
  get depth(): { pending: number; inFlight: number } {
    return this.devices.depth;
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
        this.devices.drop(d);
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
      this.devices.order(d, this.compare);
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
    this.devices.land(d, task.path);
    const announced = d.again.delete(task.path);
    // the path holds another file than the one read (renamed over it meanwhile): that one is ingested next
    const replaced = !this.stopped && replacedSince(task, announced);
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
      this.devices.pend(d, task.path, task.receivedAt ?? Date.now());
      d.attempts++;
      d.notBefore = Date.now() + backoffDelay(BACKOFF.fileRetry, d.attempts);
      this.retryLater(d.notBefore - Date.now());
      return;
    }
    if (!leftInPlace || report.status === 'ok') d.attempts = 0;
    if (replaced) this.add(task.path, Date.now());
    this.schedule(d);
  }

  /** Intake stops: the iteration ends once the pipeline asks for its next file. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<FileTask> {
    while (!this.stopped) {
      const next = this.devices.takeReady();
      if (!next) {
        await new Promise<void>((r) => (this.wake = r));
        this.wake = null;
        continue;
      }
      const task = this.handOver(next.device, next.path);
      if (task) yield task;
    }
  }

  /**
   * The next file of a held device, checked just before the pipeline gets it:
   * still there (another instance that took it first has moved it away), a
   * regular file reached through no symlink, under a device folder. Null when
   * it is not handed over.
   */
  private handOver(d: Device, path: string): FileTask | null {
    // in flight from now on: a file of the device finishing meanwhile must not find the device empty and
    // release its claim (another instance would take this very file)
    const receivedAt = this.devices.fly(d, path);
    if (receivedAt === undefined) return null;
    const check = checkTake(this.root, path);
    const identity = check.ok ? identityOf(path, this.root) : null;
    if (check.ok && identity) return { path, identity, size: check.st.size, root: this.root, receivedAt };
    if (!check.ok && check.why === 'gone')
      this.log?.debug({ event: 'skip', path }, 'file gone before its turn (processed by another instance?)');
    if (!check.ok && check.why === 'symlink')
      this.log?.warn({ event: 'skip', path }, 'not ingested: the path goes through a symlink');
    this.devices.land(d, path);
    this.schedule(d);
    return null;
  }
}
