/** One device folder's files in the scheduler (scheduler.ts). */
export interface Device {
  folder: string;
  /** complete files not yet handed to the pipeline: path → upload complete (ms epoch) */
  readonly pending: ReadonlyMap<string, number>;
  /** handed to the pipeline, outcome not known yet */
  readonly inFlight: ReadonlySet<string>;
  /** no claim attempt before this time (another instance holds it, or PostgreSQL is down) */
  notBefore: number;
  attempts: number;
  claiming: boolean;
  /** pending files not yet put in order (they wait for the claim) */
  fresh: string[];
  /** pending files of a held device, by export order (file name): the pipeline takes them from the front */
  order: string[];
  /** in the queue of devices with ordered files */
  queued: boolean;
  /** in-flight paths announced again (a re-upload renamed over the file being read): looked at again when done */
  again: Set<string>;
}

interface DeviceState extends Device {
  readonly pending: Map<string, number>;
  readonly inFlight: Set<string>;
}

/**
 * The scheduler's devices and their files, with the totals kept as files
 * move (pending → in flight → done), so that the depth costs O(1) however
 * many devices are known. Every change of `pending` or `inFlight` goes
 * through here.
 */
export class Devices {
  private readonly byFolder = new Map<string, DeviceState>();
  /** held devices with files in order, first come first served: a backlog costs O(log n) per file, not O(n) */
  private readonly ready: Device[] = [];
  private pendingCount = 0;
  private inFlightCount = 0;

  get(folder: string): Device | undefined {
    return this.byFolder.get(folder);
  }

  /** The device of `folder`, created empty when unknown. */
  ensure(folder: string): Device {
    let d = this.byFolder.get(folder);
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
      this.byFolder.set(folder, d);
    }
    return d;
  }

  /** Forgets a device with nothing pending nor in flight. */
  drop(d: Device): void {
    if (d.pending.size === 0 && d.inFlight.size === 0) this.byFolder.delete(d.folder);
  }

  values(): IterableIterator<Device> {
    return this.byFolder.values();
  }

  /** A complete file waits for its turn (and, fresh, for the device's claim). */
  pend(d: Device, path: string, at: number): void {
    const s = d as DeviceState;
    if (!s.pending.has(path)) this.pendingCount++;
    s.pending.set(path, at);
    s.fresh.push(path);
  }

  /** The file is handed over: from pending to in flight; its upload time, or undefined when it was not pending. */
  fly(d: Device, path: string): number | undefined {
    const s = d as DeviceState;
    const at = s.pending.get(path);
    if (at === undefined) return undefined;
    s.pending.delete(path);
    this.pendingCount--;
    if (!s.inFlight.has(path)) this.inFlightCount++;
    s.inFlight.add(path);
    return at;
  }

  /** The pipeline is done with the file (or it was never handed over after all). */
  land(d: Device, path: string): void {
    if ((d as DeviceState).inFlight.delete(path)) this.inFlightCount--;
  }

  /** Files known and not yet handed over, and files being processed. */
  get depth(): { pending: number; inFlight: number } {
    return { pending: this.pendingCount, inFlight: this.inFlightCount };
  }

  /** A held device's fresh files join its export order; the device queues for its turn. */
  order(d: Device, compare: (a: string, b: string) => number): void {
    for (const path of d.fresh) insertInOrder(d.order, path, compare);
    d.fresh = [];
    if (!d.queued && d.order.length > 0) {
      d.queued = true;
      this.ready.push(d);
    }
  }

  /** The first held device's earliest file by export order; that device goes on until its ordered files run out. */
  takeReady(): { device: Device; path: string } | null {
    while (this.ready.length > 0) {
      const d = this.ready[0];
      const path = d.order.shift();
      if (d.order.length === 0) {
        this.ready.shift();
        d.queued = false;
      }
      if (path !== undefined) return { device: d, path };
    }
    return null;
  }
}

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
