import type { Server } from 'node:http';
import { mkdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { InfluxHttp } from '../influx/http-api.js';
import { Metrics } from '../metrics/metrics.js';
import { cleanStalePins } from '../pipeline/taken.js';
import { StoreHealth } from '../pipeline/store-health.js';
import { Claims } from './claims.js';
import { JobFeed } from './job-feed.js';
import { hookServer } from './hook.js';
import { handleHook } from './hook-handler.js';
import { route, sampleQueues } from './http.js';
import { Journal, type JournalEvent } from './journal.js';
import { JournalKeeper, uploadEvents } from './journal-keeper.js';
import type { ServiceOptions } from './options.js';
import { ProvisionQueue } from './provision-queue.js';
import { Readiness, claimSource } from './readiness.js';
import { TakenFiles } from './retake.js';
import { Scheduler } from './scheduler.js';
import type { FileStamp } from './settle.js';
import { JobSupervisor } from './supervisor.js';
import { endsWithin } from '../util/flow.js';
import { RootWatch } from './watch.js';

export type { Provisioner, ServiceOptions } from './options.js';

/** a device's claims are kept this long after its last file: its next file takes them without round trips */
const CLAIM_LINGER_MS = 2000;
const PROCESSED = new Set(['parsed', 'error']);

/**
 * `powerview serve` (docs/architecture.md#pipeline-and-serve): SFTPGo hook events and a watch of the data
 * root feed one long-running ingest job — the same pipeline as a backfill —
 * through claims, so each file is committed once whatever the number of
 * events, instances or restarts. HTTP: the hook, /metrics, /healthz, /readyz.
 * This class wires the parts: hook-handler.ts, supervisor.ts, readiness.ts,
 * provision-queue.ts, journal-keeper.ts, scheduler.ts, watch.ts, retake.ts.
 */
export class Service {
  readonly metrics: Metrics;
  private readonly log?: Logger;
  private readonly rootReal: string;
  private readonly journal: JournalKeeper;
  private readonly claims: Claims;
  private readonly scheduler: Scheduler;
  private readonly watch: RootWatch;
  /** watch-found files ingested: looked at until --stall, taken again if they change (a client still writing) */
  private readonly taken: TakenFiles;
  /** files the scheduler holds: what their event (or the watch) saw, written with them into the journal */
  private readonly stamps = new Map<string, FileStamp>();
  /** files the scheduler holds that the watch found (no upload event) */
  private readonly watchFound = new Set<string>();
  private readonly influxHttp: InfluxHttp;
  private server: Server | null = null;
  private job: Promise<void> | null = null;
  /** what stores refuse right now (credentials): /readyz, metric, log */
  private readonly health: StoreHealth;
  private readonly supervisor: JobSupervisor;
  private readonly provisions: ProvisionQueue;
  private readonly readiness: Readiness;
  private draining = false;

  constructor(private readonly options: ServiceOptions) {
    this.metrics = options.metrics ?? new Metrics();
    this.log = options.logger;
    mkdirSync(options.root, { recursive: true });
    this.rootReal = realpathSync(options.root);
    this.journal = new JournalKeeper(
      new Journal(join(options.stateDir, 'events.jsonl')),
      {
        unfinished: () => this.unfinished(),
        files: () => this.files(),
        idle: () => this.files() === 0 && this.provisions.size === 0,
      },
      this.log,
    );
    this.claims = new Claims(options.pgClientConfig, (p) => this.scheduler.folderOf(p), this.log, {
      releaseLingerMs: CLAIM_LINGER_MS,
    });
    this.health = new StoreHealth(this.log, this.metrics);
    const onIdle = () => this.journal.maybeCompact();
    const claims = claimSource(this.claims, this.health);
    this.scheduler = new Scheduler(this.rootReal, claims, this.log, onIdle, options.pipeline.v002TimeZone);
    this.provisions = new ProvisionQueue(this.rootReal, options.provision, onIdle, this.log);
    this.watch = new RootWatch(this.rootReal, {
      settleMs: options.settleMs,
      stallMs: options.stallMs,
      rescanMs: options.rescanMs,
      knows: (p) => this.scheduler.knows(p),
      onSettled: (p, at, st) => this.settled(p, at, st),
      log: this.log,
    });
    this.taken = new TakenFiles({
      settleMs: options.settleMs,
      stallMs: options.stallMs,
      log: this.log,
      // our own complete copy: queued at once, like an upload event
      onRetake: (copy) => void this.scheduler.add(copy, Date.now()),
    });
    this.influxHttp = new InfluxHttp(options.influx);
    this.supervisor = new JobSupervisor({
      ...{ options, claims: this.claims, health: this.health, metrics: this.metrics, log: this.log },
      feed: new JobFeed(this.scheduler),
      scheduler: this.scheduler,
      fileFinished: (path, movedTo, bytes) => this.fileFinished(path, movedTo, bytes),
    });
    this.readiness = new Readiness(this.influxHttp, options.pool, this.health, () => ({
      jobDown: this.supervisor.down,
      draining: this.draining,
    }));
  }

  /** Address the HTTP server listens on. */
  get address(): AddressInfo | null {
    return (this.server?.address() as AddressInfo | null) ?? null;
  }

  async start(): Promise<void> {
    // events accepted by the previous process and not finished: still to do, without waiting to settle
    const left = this.journal.journal.load();
    // files taken by a process of this host that died: pins removed, a replaced file's bytes kept aside
    await cleanStalePins(this.rootReal, this.log);
    await this.journal.journal.open();
    await this.journal.replay(left, {
      offer: (path) => this.watch.offer(path),
      accept: (e, stamp) => {
        if (stamp) this.stamps.set(e.path, stamp);
        this.accept(e);
      },
    });
    await this.journal.journal.compact(() => this.unfinished());
    this.job = this.supervisor.run();
    const endpoints = this.endpoints();
    this.server = hookServer((req, res) => void route(endpoints, req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port, this.options.host, () => resolve());
    });
    this.watch.start();
    this.taken.start();
    this.log?.info(
      { event: 'serve_start', address: this.address, root: this.rootReal, pending: left.length },
      'serving',
    );
  }

  /** SIGTERM: intake stops (hooks get 503, SFTPGo retries them), in-flight files finish within the bound. */
  async stop(): Promise<{ drained: boolean }> {
    if (this.draining) return { drained: false };
    this.draining = true;
    this.watch.stop();
    this.taken.stop();
    this.journal.stop();
    this.provisions.stop();
    this.scheduler.stop();
    this.supervisor.stop();
    const t0 = Date.now();
    const drained = this.job ? await endsWithin(this.job, this.options.drainMs) : true;
    // what was not finished stays on disk and in the journal: the next start takes it up
    await this.journal.journal.compact(() => this.unfinished()).catch(() => {});
    await this.journal.journal.close().catch(() => {});
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
    await this.claims.close();
    await this.influxHttp.close();
    this.log?.info(
      { event: 'serve_stop', drained, seconds: (Date.now() - t0) / 1000 },
      drained ? 'stopped' : 'stopped before in-flight files finished',
    );
    return { drained };
  }

  private endpoints(): Parameters<typeof route>[0] {
    return {
      metrics: this.metrics,
      draining: () => this.draining,
      hook: (req, res) =>
        handleHook(
          {
            ...{ rootReal: this.rootReal, hookSecret: this.options.hookSecret, metrics: this.metrics, log: this.log },
            hookUserMap: this.options.hookUserMap ?? new Map(),
            journal: this.journal.journal,
            draining: () => this.draining,
            announced: (path, st) => {
              if (st) this.stamps.set(path, st);
              // announced: not the watch's any more (an event is authoritative)
              this.watchFound.delete(path);
            },
            accept: (e) => this.accept(e),
          },
          req,
          res,
        ),
      sampleGauges: () =>
        sampleQueues(this.metrics, {
          ...this.scheduler.depth,
          settling: this.watch.settling,
          provisions: this.provisions.size,
          running: this.supervisor.running,
        }),
      readiness: () => this.readiness.check(),
    };
  }

  /** A file the watch found complete. */
  private settled(path: string, at: number, st: FileStamp): void {
    if (!this.scheduler.add(path, at)) return;
    this.stamps.set(path, st);
    this.watchFound.add(path);
    this.log?.info({ event: 'settled', path }, 'file found complete by the watch');
  }

  /** An event that is (or was) durably queued: to the scheduler or the provisioning queue. */
  private accept(e: JournalEvent): boolean {
    return e.kind === 'upload' ? this.scheduler.add(e.path, e.at) : this.provisions.add(e);
  }

  private files(): number {
    const { pending, inFlight } = this.scheduler.depth;
    return pending + inFlight;
  }

  private unfinished(): JournalEvent[] {
    return [...uploadEvents(this.scheduler.unfinished(), this.stamps), ...this.provisions.pending()];
  }

  /**
   * The pipeline is done with a file: a watch-found file moved to parsed/ is
   * looked at for changes (retake.ts); the journal is compacted soon after, so
   * a crash never replays events whose files are done.
   */
  private fileFinished(path: string, movedTo: string | null, bytes: number): void {
    if (this.scheduler.knows(path)) return; // left in place, retried
    this.stamps.delete(path);
    // parsed/ or error/ (a part taken after the header only has no rows): the client may still be writing into it
    if (this.watchFound.delete(path) && movedTo && PROCESSED.has(basename(dirname(movedTo))))
      void this.taken.remember(path, movedTo, bytes);
    this.journal.fileFinished();
  }
}
