import type { ScanResult } from '../tsv/scanner.js';
import { MAX_CHANNELS } from '../tsv/hourly.js';
import type { IngestStore } from '../postgres/ingest-store.js';
import { timeProfile, type Run } from './coverage.js';
import { heldPoints } from './held.js';
import type { FileAggregates, FilePlan, FileTask } from './pipeline.js';
import { ClaimHolders, type DeviceClaims } from './device-claims.js';

/** Devices whose latest layout a long job remembers (least recently planned forgotten first). */
export const DEVICE_CACHE_MAX = 10_000;

/** What the plan of one file decided, for its commit. */
export interface PlannedFile {
  sha256: string;
  /** the ledger row of the same bytes this file replaces (--force) */
  replace: number | null;
  /** header layout differs from the device's known one */
  layoutDrift: boolean;
  knownLayout: string | null;
  /** the device's coverage version read with the committed coverage (the commit fence checks it) */
  version: number | null;
}

interface Pending {
  from: number;
  to: number;
  done: Promise<void>;
  resolve: () => void;
}

/**
 * Exactly-once across files (docs/architecture.md#postgresql-output-and-exactly-once): a point (tenant, device,
 * channel,
 * time) is written by the first file that brings it. Before a file's blocks
 * go to the workers, the points already held are looked up: committed
 * coverage in PostgreSQL, plus the coverage of this run's files that are
 * parsed but not yet committed. A file waits for an earlier file of the same
 * device whose time range overlaps its own to be parsed first; files that do
 * not overlap go through the pool side by side.
 */
export class ExactlyOnce {
  private readonly pending = new Map<string, Pending[]>();
  /** parsed, not yet committed: device → file → channel id → runs */
  private readonly uncommitted = new Map<string, Map<FileTask, Map<string, Run[]>>>();
  private readonly planned = new Map<
    FileTask,
    PlannedFile & { device: string; pending: Pending; tenant: string; masterSn: string }
  >();
  /** the layout of the device's latest file planned in this run (it becomes the known one at commit) */
  private readonly layouts = new Map<string, string>();

  constructor(
    private readonly store: IngestStore,
    private readonly options: {
      force?: boolean;
      /** PostgreSQL look-ups go through this (the job retries them while PostgreSQL is unreachable) */
      retry?: <T>(call: () => Promise<T>) => Promise<T>;
      /**
       * Device claims across processes: a file's device (tenant, master
       * serial) is claimed before its plan reads the committed coverage and
       * held until every file of the device this run planned is committed or
       * given up, so no other process plans against coverage still to come.
       */
      claims?: DeviceClaims;
    } = {},
  ) {
    this.holders = new ClaimHolders(options.claims, options.retry);
  }

  /** the device claims this run's files hold */
  private readonly holders: ClaimHolders<FileTask>;

  /** time the reader spent waiting for plans (PostgreSQL look-ups, overlapping files) */
  planSeconds = 0;

  readonly planFile = async (task: FileTask, scan: ScanResult, sha256: string): Promise<FilePlan> => {
    const t0 = performance.now();
    try {
      return await this.plan(task, scan, sha256);
    } finally {
      this.planSeconds += (performance.now() - t0) / 1000;
    }
  };

  private async plan(task: FileTask, scan: ScanResult, sha256: string): Promise<FilePlan> {
    const tenant = task.identity.tenant;
    const device = `${tenant}\u0000${scan.header.masterSn}`;
    if (scan.header.channels.length > MAX_CHANNELS)
      throw new Error(`${scan.header.channels.length} channels: at most ${MAX_CHANNELS} per file`);
    const { from, to, step: stepSeconds } = timeProfile(scan.blocks.map((b) => b.epochs));
    // earlier overlapping files of this device first: their coverage decides what this one holds
    const { mine, waits } = this.queue(device, from, to);
    const power = Uint8Array.from(scan.header.channels, (c) => (c.unit === 'W' ? 1 : 0));
    try {
      await Promise.all(waits);
      if (this.aborted) throw new Error('the run stopped');
      const retry = this.options.retry ?? (<T>(call: () => Promise<T>) => call());
      await retry(() => this.store.ensureTenant(tenant, task.identity.campaign));
      // no other process plans or commits this logger's files until this one is committed
      await this.holders.claim(task, tenant, scan.header.masterSn, device);
      if (this.aborted) throw new Error('the run stopped');
      // this run's parsed files first, then the committed ones: a commit in between is seen by one or the other
      const mem = this.uncommittedRuns(device);
      // one statement for the ledger and the coverage; the layout only for a device not seen yet
      const [{ known, ...committedAll }, storedLayout] = await retry(() =>
        Promise.all([
          this.store.planLookup(tenant, sha256, scan.header.masterSn, from > to ? null : { from, to }),
          this.layouts.has(device) ? Promise.resolve(null) : this.store.deviceLayout(tenant, scan.header.masterSn),
        ]),
      );
      const knownLayout = this.rememberLayout(device, scan.header.layout, storedLayout);
      const planned = {
        sha256,
        replace: this.options.force && known ? known.fileId : null,
        layoutDrift: knownLayout !== null && knownLayout !== scan.header.layout,
        knownLayout,
        version: committedAll.version,
        device,
        pending: mine,
        tenant,
        masterSn: scan.header.masterSn,
      };
      this.planned.set(task, planned);
      if (known && known.status === 'ok' && !this.options.force) {
        // the earlier file by its path too: the id alone sends the user to SQL
        const noop = `the same bytes were ingested before (file ${known.fileId}: ${known.path})`;
        return { noop, held: null, power, stepSeconds };
      }
      if (from > to) return { held: null, power, stepSeconds };
      // --force: the coverage of the file being replaced does not count
      let committed = committedAll.runs;
      if (planned.replace !== null) {
        const again = await retry(() =>
          this.store.coverageVersioned(tenant, scan.header.masterSn, from, to, planned.replace),
        );
        committed = again.runs;
        planned.version = Math.min(planned.version, again.version);
      }
      const runs = scan.header.channels.map((c) => [
        ...(committed.get(c.channelId) ?? []),
        ...(mem.get(c.channelId) ?? []),
      ]);
      const { held, ...times } = heldPoints(scan, runs, from, to);
      return {
        held: held.empty ? null : held,
        power,
        stepSeconds: times.stepSeconds ?? stepSeconds,
        heldFromRun: mem.size > 0,
        ...(times.warning ? { warnings: [times.warning] } : {}),
      };
    } catch (err) {
      this.release(task);
      this.holders.unclaim(task, tenant, scan.header.masterSn, device);
      mine.resolve();
      throw err;
    }
  }

  /** The file joins its device's files being planned; the earlier ones whose time range overlaps its own. */
  private queue(device: string, from: number, to: number): { mine: Pending; waits: Promise<void>[] } {
    const list = this.pending.get(device) ?? [];
    const waits = list.filter((p) => p.from <= to && p.to >= from).map((p) => p.done);
    let resolve!: () => void;
    const mine: Pending = { from, to, done: new Promise<void>((r) => (resolve = r)), resolve: () => resolve() };
    list.push(mine);
    this.pending.set(device, list);
    return { mine, waits };
  }

  /** The coverage of the device's files this run parsed and has not committed yet, by channel id. */
  private uncommittedRuns(device: string): Map<string, Run[]> {
    const mem = new Map<string, Run[]>();
    for (const byChannel of this.uncommitted.get(device)?.values() ?? []) {
      for (const [id, runs] of byChannel) mem.set(id, [...(mem.get(id) ?? []), ...runs]);
    }
    return mem;
  }

  /** The device's known layout (this run's latest, else PostgreSQL's); this file's becomes the latest. */
  private rememberLayout(device: string, layout: string, stored: string | null): string | null {
    const known = this.layouts.get(device) ?? stored;
    // most recently planned last; past the bound the least recent device is forgotten (PostgreSQL knows its layout)
    this.layouts.delete(device);
    this.layouts.set(device, layout);
    if (this.layouts.size > DEVICE_CACHE_MAX) this.layouts.delete(this.layouts.keys().next().value!);
    return known;
  }

  /** The file's blocks are all parsed: later overlapping files may plan against its coverage. */
  readonly onConsumed = (task: FileTask, agg: FileAggregates | null): void => {
    const p = this.planned.get(task);
    if (!p) return;
    if (agg && !agg.noop) {
      const byChannel = new Map<string, Run[]>();
      agg.coverage.forEach((runs, c) => {
        if (runs.length) byChannel.set(agg.header.channels[c].channelId, runs);
      });
      const files = this.uncommitted.get(p.device) ?? new Map<FileTask, Map<string, Run[]>>();
      files.set(task, byChannel);
      this.uncommitted.set(p.device, files);
    }
    p.pending.resolve();
    const list = this.pending.get(p.device);
    if (list) {
      const i = list.indexOf(p.pending);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.pending.delete(p.device);
    }
  };

  private aborted = false;

  /** The run stops: every file waiting for another goes on (and fails fast); later plans refuse. */
  readonly abort = (): void => {
    this.aborted = true;
    for (const list of this.pending.values()) for (const p of list) p.resolve();
  };

  plannedFile(task: FileTask): PlannedFile | null {
    return this.planned.get(task) ?? null;
  }

  /** The file was committed (or given up): its coverage is PostgreSQL's business now. */
  release(task: FileTask): void {
    const p = this.planned.get(task);
    if (!p) return;
    this.planned.delete(task);
    const files = this.uncommitted.get(p.device);
    files?.delete(task);
    if (files && files.size === 0) this.uncommitted.delete(p.device);
    this.holders.unclaim(task, p.tenant, p.masterSn, p.device);
  }
}
