import { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdirSync, realpathSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Pool, ClientConfig } from 'pg';
import type { Logger } from 'pino';
import { ErrorCodes, PowerViewError, errorMessage } from '../errors.js';
import type { InfluxConfig } from '../influx/config.js';
import { InfluxHttp } from '../influx/http-api.js';
import { Metrics } from '../metrics/metrics.js';
import { runIngestJob } from '../pipeline/ingest-job.js';
import type { Pipeline, PipelineOptions } from '../pipeline/pipeline.js';
import { emptyFileReport } from '../pipeline/report.js';
import { cleanStalePins, moveFinished, releaseTaken } from '../pipeline/lifecycle.js';
import { StoreHealth } from '../pipeline/store-health.js';
import { failureOwner } from '../postgres/errors.js';
import type { LpBatcher } from '../influx/batcher.js';
import { assertMigrated } from '../postgres/migrate.js';
import { BACKOFF, backoffDelay } from '../util/retry.js';
import { Claims } from './claims.js';
import { JobFeed } from './job-feed.js';
import type { ClaimSource } from './scheduler.js';
import { HookError, authorized, checkOwner, classify, hookServer, parseEvent, pathInRoot, readBody } from './hook.js';
import { Journal, type JournalEvent } from './journal.js';
import { Scheduler } from './scheduler.js';
import { RootWatch, type FileStamp } from './watch.js';
import { TakenFiles } from './retake.js';

/** Provisions a tenant (and campaign): stores, roles, Grafana files. Idempotent. */
export type Provisioner = (tenant: string, campaign: string | null) => Promise<void>;

export interface ServiceOptions {
  /** the data root: `<root>/<company>/<campaign>/<device>/<file>` */
  root: string;
  host: string;
  port: number;
  hookSecret: string;
  /** SFTPGo user → the company folder it may write to, when not its own name (`--hook-user-map`) */
  hookUserMap?: ReadonlyMap<string, string>;
  settleMs: number;
  /** a watch-found file not ending with a newline is taken anyway once unchanged this long (default 600 s) */
  stallMs?: number;
  rescanMs: number;
  /** SIGTERM: in-flight files get this long to finish */
  drainMs: number;
  /** the journal of accepted events lives here (outside the data root: SFTP users never see it) */
  stateDir: string;
  influx: Readonly<InfluxConfig>;
  pool: Pool;
  /** connection settings of the claims session (one dedicated connection) */
  pgClientConfig: ClientConfig;
  pipeline: Pick<PipelineOptions, 'workers' | 'blockBytes' | 'v002TimeZone' | 'maxBlocksInFlight' | 'keepWholeBytes'>;
  provision: Provisioner;
  metaDb?: string;
  logger?: Logger;
  metrics?: Metrics;
  /** a partly filled InfluxDB batch waits at most this long (default INFLUX_LINGER_MS) */
  lingerMs?: number;
  /** files per PostgreSQL commit wait at most this long for others to share it (default COMMIT_LINGER_MS) */
  commitLingerMs?: number;
}

/**
 * `powerview serve` (docs/architecture.md#pipeline-and-serve): SFTPGo hook events and a watch of the data
 * root feed one long-running ingest job — the same pipeline as a backfill —
 * through claims, so each file is committed once whatever the number of
 * events, instances or restarts. HTTP: the hook, /metrics, /healthz, /readyz.
 */
export class Service {
  readonly metrics: Metrics;
  private readonly log?: Logger;
  private readonly rootReal: string;
  private readonly journal: Journal;
  private readonly claims: Claims;
  private readonly scheduler: Scheduler;
  private readonly watch: RootWatch;
  /** watch-found files ingested: looked at until --stall, taken again if they change (a client still writing) */
  private readonly taken: TakenFiles;
  /** files the scheduler holds: what their event (or the watch) saw, written with them into the journal */
  private readonly stamps = new Map<string, FileStamp>();
  /** files the scheduler holds that the watch found (no upload event) */
  private readonly watchFound = new Set<string>();
  /** journaled files finished since the last compaction */
  private finishedSinceCompact = 0;
  private compactTimer: NodeJS.Timeout | null = null;
  private readonly influxHttp: InfluxHttp;
  private server: Server | null = null;
  private job: Promise<void> | null = null;
  /** what stores refuse right now (credentials): /readyz, metric, log */
  private readonly health: StoreHealth;
  private readonly feed: JobFeed;
  /** why the ingest job is not running (between an unexpected end and its restart), else null */
  private jobDown: string | null = null;
  private jobDownAt = 0;
  private wakeRestart: (() => void) | null = null;
  /** path → consecutive job crashes while the file was in the job */
  private readonly crashes = new Map<string, number>();
  private running: { pipeline: Pipeline; batcher: LpBatcher } | null = null;
  private draining = false;
  /** provisioning events not yet done: `<company>/<campaign>` → accepted at */
  private readonly provisions = new Map<string, JournalEvent>();
  private readonly provisioning = new Set<string>();
  private ready: { at: number; ok: boolean; detail: Record<string, string> } = { at: 0, ok: false, detail: {} };

  constructor(private readonly options: ServiceOptions) {
    this.metrics = options.metrics ?? new Metrics();
    this.log = options.logger;
    mkdirSync(options.root, { recursive: true });
    this.rootReal = realpathSync(options.root);
    this.journal = new Journal(join(options.stateDir, 'events.jsonl'));
    this.claims = new Claims(options.pgClientConfig, (p) => this.scheduler.folderOf(p), this.log, {
      releaseLingerMs: CLAIM_LINGER_MS,
    });
    this.health = new StoreHealth(this.log, this.metrics);
    // a claim taken says PostgreSQL accepts the login; a refused one is a state to wait out, reported
    const claims: ClaimSource = {
      tryClaim: (folder) =>
        this.claims.tryClaim(folder).then(
          (ok) => {
            this.health.ok('postgres');
            return ok;
          },
          (err: unknown) => {
            this.notePgFailure(err);
            throw err;
          },
        ),
      release: (folder) => this.claims.release(folder),
      // the scheduler goes on with a claim it finds held: a release still lingering is called off
      isHeld: (folder) => this.claims.keep(folder),
    };
    this.scheduler = new Scheduler(
      this.rootReal,
      claims,
      this.log,
      () => this.maybeCompact(),
      options.pipeline.v002TimeZone,
    );
    this.feed = new JobFeed(this.scheduler);
    this.watch = new RootWatch(this.rootReal, {
      settleMs: options.settleMs,
      stallMs: options.stallMs,
      rescanMs: options.rescanMs,
      knows: (p) => this.scheduler.knows(p),
      onSettled: (p, at, st) => {
        if (this.scheduler.add(p, at)) {
          this.stamps.set(p, st);
          this.watchFound.add(p);
          this.log?.info({ event: 'settled', path: p }, 'file found complete by the watch');
        }
      },
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
  }

  /** Address the HTTP server listens on. */
  get address(): AddressInfo | null {
    return (this.server?.address() as AddressInfo | null) ?? null;
  }

  async start(): Promise<void> {
    // events accepted by the previous process and not finished: still to do, without waiting to settle
    const left = this.journal.load();
    // files taken by a process of this host that died: pins removed, a replaced file's bytes kept aside
    await cleanStalePins(this.rootReal, this.log);
    await this.journal.open();
    let changed = 0;
    for (const e of left) {
      if (e.kind === 'upload') {
        // the event is authoritative only for the bytes it announced: a file written again since (a new upload under
        // the same name, stale events replayed after a crash) is found complete by the watch's rule instead
        const st = await lstat(e.path).catch(() => null);
        if (!st) continue; // finished (moved) before the journal was compacted
        if (e.size !== st.size || e.ino !== st.ino || e.mtimeMs !== st.mtimeMs) {
          this.watch.offer(e.path);
          changed++;
          continue;
        }
        this.stamps.set(e.path, { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
      }
      this.accept(e);
    }
    if (changed > 0)
      this.log?.info(
        { event: 'journal_replay', changed },
        'journaled files changed since their event: they settle first',
      );
    await this.journal.compact(() => this.unfinished());
    this.job = this.supervise();
    this.server = hookServer((req, res) => void this.route(req, res));
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

  /**
   * The one ingest job, restarted whenever it ends while serve is not
   * stopping (a run-level store failure, a bug): serve never lives on without
   * ingesting. Files it held go back to the scheduler, kept in place.
   */
  private async supervise(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { stream, end } = this.feed.lend();
      const t0 = Date.now();
      let reason: 'store_failure' | 'crash';
      let detail: string;
      this.metrics.jobUp.set(1);
      try {
        const r = await runIngestJob(stream, {
          pipeline: this.options.pipeline,
          // the service waits for a store as long as it takes; SIGTERM is what ends a wait
          influx: { ...this.options.influx, storeWaitMs: 365 * 86400_000 },
          metaDb: this.options.metaDb,
          // the run summary is best effort: an unreachable InfluxDB never holds a stop for the drain bound
          metaWaitMs: 5000,
          logger: this.log,
          reportDir: null,
          // serve never ends: the latest reports only (memory bounds, docs/operations.md); every file is in the log and
          // the ledger
          reportKeep: 200,
          metrics: this.metrics,
          lingerMs: this.options.lingerMs ?? INFLUX_LINGER_MS,
          postgres: {
            pool: this.options.pool,
            commitLingerMs: this.options.commitLingerMs ?? COMMIT_LINGER_MS,
            commitMaxFiles: COMMIT_MAX_FILES,
            fence: this.claims.fence,
            claims: this.claims,
          },
          health: this.health,
          onAbort: end,
          onFileDone: (report, task) => {
            this.feed.done(task);
            this.crashes.delete(task.path);
            if (report.status === 'ok') this.jobDown = null;
            // left in place by a run-level store failure (a redirect, refused credentials): the store's, retried
            const code = report.error?.code;
            const runLevel =
              report.status === 'error' &&
              !report.moved_to &&
              (code === ErrorCodes.STORE_REJECTED || code === ErrorCodes.STORE_AUTH);
            this.scheduler.done(
              runLevel ? { ...report, error: { ...report.error!, code: ErrorCodes.STORE_UNAVAILABLE } } : report,
              task,
            );
            this.fileFinished(task.path, report.moved_to ?? null, report.bytes);
          },
          onStart: (running) => (this.running = running),
        });
        reason = 'store_failure';
        detail = r.report.store_failure
          ? `${r.report.store_failure.code}: ${r.report.store_failure.message}`
          : 'the job ended';
      } catch (err) {
        reason = 'crash';
        detail = errorMessage(err);
      } finally {
        end();
        this.running = null;
        this.metrics.jobUp.set(0);
      }
      // stopping: what the job held stays in flight, so the journal keeps it for the next start
      if (this.draining) return;
      await this.giveBack(detail, reason === 'crash');
      if (Date.now() - t0 > 60_000) attempt = 0;
      const delay = backoffDelay(BACKOFF.restart, attempt);
      // /readyz says so until the restarted job ingests a file (or a minute passes without another end)
      this.jobDown = `restarting after: ${detail}`;
      this.jobDownAt = Date.now();
      this.metrics.jobRestarts.inc({ reason });
      this.log?.error(
        { event: 'job', reason, error: detail, restart_in_ms: Math.round(delay) },
        'ingest job ended: restarting it, files kept in place',
      );
      await new Promise<void>((r) => {
        const timer = setTimeout(r, delay);
        this.wakeRestart = () => {
          clearTimeout(timer);
          r();
        };
      });
      this.wakeRestart = null;
      if (this.draining) return;
    }
  }

  /**
   * Files a finished job held and never reported: back to the scheduler, left
   * in place. A file that was in the job at CRASH_SUSPECT crashes in a row is
   * failed alone (error/, with the cause): one file never kills every restart.
   */
  private async giveBack(why: string, crashed: boolean): Promise<void> {
    for (const task of [...this.feed.out]) {
      this.feed.done(task);
      const r = emptyFileReport(task.path, task.identity);
      r.status = 'error';
      r.moved_to = null;
      r.error = { code: ErrorCodes.STORE_UNAVAILABLE, message: `not finished: ${why}` };
      const crashes = crashed ? (this.crashes.get(task.path) ?? 0) + 1 : 0;
      if (crashes > 0) this.crashes.set(task.path, crashes);
      else this.crashes.delete(task.path);
      if (crashes >= CRASH_SUSPECT) {
        this.crashes.delete(task.path);
        r.error = {
          code: ErrorCodes.READ,
          message: `the ingest job failed ${crashes} times while this file was in it: ${why}`,
        };
        r.moved_to = await moveFinished(task.path, 'error', r.error, task.taken).catch(() => null);
        this.log?.error(
          {
            event: 'file',
            path: task.path,
            status: 'error',
            code: r.error.code,
            error: r.error.message,
            moved_to: r.moved_to,
          },
          'file failed',
        );
        this.metrics.fileDone(r);
      }
      // taken and not finished: the pin goes (the bytes read kept aside if the path was replaced)
      if (task.taken && !r.moved_to) await releaseTaken(task.path, task.taken).catch(() => null);
      this.scheduler.done(r, task);
      this.fileFinished(task.path, r.moved_to ?? null, r.bytes);
    }
    if (this.crashes.size > 10_000) this.crashes.clear();
  }

  private notePgFailure(err: unknown): void {
    const { owner, cause } = failureOwner(err);
    if (owner === 'credentials') this.health.refused('postgres', cause, errorMessage(err));
  }

  /** SIGTERM: intake stops (hooks get 503, SFTPGo retries them), in-flight files finish within the bound. */
  async stop(): Promise<{ drained: boolean }> {
    if (this.draining) return { drained: false };
    this.draining = true;
    this.watch.stop();
    this.taken.stop();
    if (this.compactTimer) clearTimeout(this.compactTimer);
    this.scheduler.stop();
    this.wakeRestart?.();
    const t0 = Date.now();
    let drained = true;
    if (this.job) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), this.options.drainMs)));
      const outcome = await Promise.race([
        this.job.then(
          () => 'done' as const,
          () => 'done' as const,
        ),
        timeout,
      ]);
      clearTimeout(timer);
      drained = outcome === 'done';
    }
    // what was not finished stays on disk and in the journal: the next start takes it up
    await this.journal.compact(() => this.unfinished()).catch(() => {});
    await this.journal.close().catch(() => {});
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

  private unfinished(): JournalEvent[] {
    return [
      ...this.scheduler.unfinished().map((f) => {
        const st = this.stamps.get(f.path);
        return {
          kind: 'upload' as const,
          path: f.path,
          at: f.at,
          ...(st ? { size: st.size, ino: st.ino, mtimeMs: st.mtimeMs } : {}),
        };
      }),
      ...this.provisions.values(),
    ];
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
    this.finishedSinceCompact++;
    if (this.compactTimer || this.draining) return;
    // a large backlog is rewritten less often (each compaction writes every event still to do)
    const { pending, inFlight } = this.scheduler.depth;
    this.compactTimer = setTimeout(
      () => {
        this.compactTimer = null;
        if (this.draining || (this.finishedSinceCompact === 0 && this.journal.appended === 0)) return;
        this.finishedSinceCompact = 0;
        this.journal
          .compact(() => this.unfinished())
          .catch((err: unknown) =>
            this.log?.warn({ event: 'journal', error: errorMessage(err) }, 'journal compaction failed'),
          );
      },
      pending + inFlight > 10_000 ? 30_000 : 1000,
    );
    this.compactTimer.unref();
  }

  private maybeCompact(): void {
    const { pending, inFlight } = this.scheduler.depth;
    // idle, or the journal grows: rewrite it with only what is left
    if (
      (pending + inFlight === 0 && this.provisions.size === 0 && this.journal.appended > 0) ||
      this.journal.appended > 10_000
    ) {
      this.journal
        .compact(() => this.unfinished())
        .catch((err: unknown) =>
          this.log?.warn({ event: 'journal', error: errorMessage(err) }, 'journal compaction failed'),
        );
    }
  }

  /** An event that is (or was) durably queued: to the scheduler or the provisioning queue. */
  private accept(e: JournalEvent): boolean {
    if (e.kind === 'upload') return this.scheduler.add(e.path, e.at);
    const { parts } = classify(this.rootReal, e.path);
    const key = parts.join('/');
    if (this.provisions.has(key)) return false;
    this.provisions.set(key, e);
    void this.provisionLoop(key, parts[0], parts[1] ?? null);
    return true;
  }

  private async provisionLoop(key: string, tenant: string, campaign: string | null): Promise<void> {
    if (this.provisioning.has(key)) return;
    this.provisioning.add(key);
    try {
      for (let attempt = 0; !this.draining; attempt++) {
        try {
          await this.options.provision(tenant, campaign);
          this.log?.info({ event: 'provision', tenant, campaign }, 'tenant provisioned');
          this.provisions.delete(key);
          this.maybeCompact();
          return;
        } catch (err) {
          if (err instanceof PowerViewError && err.code === ErrorCodes.TENANT_NAME) {
            // a folder name that cannot name a database or role: retrying cannot help
            this.log?.error(
              { event: 'provision', tenant, campaign, error: err.message },
              'tenant not provisioned: refused name',
            );
            this.provisions.delete(key);
            this.maybeCompact();
            return;
          }
          const delay = backoffDelay(BACKOFF.restart, attempt);
          this.log?.warn(
            { event: 'provision', tenant, campaign, error: errorMessage(err), delay_ms: Math.round(delay) },
            'provisioning failed, retrying',
          );
          await new Promise((r) => setTimeout(r, delay).unref());
        }
      }
    } finally {
      this.provisioning.delete(key);
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url?.split('?')[0] ?? '/';
    try {
      if (url === '/hooks/sftpgo') {
        if (req.method !== 'POST') return send(res, 405, { error: 'POST only' }, { allow: 'POST' });
        return await this.hook(req, res);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'GET only' }, { allow: 'GET' });
      if (url === '/metrics') {
        this.sampleGauges();
        const body = await this.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
        res.end(body);
        return;
      }
      if (url === '/healthz')
        return send(res, this.draining ? 503 : 200, { status: this.draining ? 'stopping' : 'ok' });
      if (url === '/readyz') {
        const r = await this.readiness();
        return send(res, r.ok ? 200 : 503, { status: r.ok ? 'ready' : 'not ready', ...r.detail });
      }
      send(res, 404, { error: 'not found' });
    } catch (err) {
      if (!res.headersSent) send(res, 500, { error: errorMessage(err) });
    }
  }

  private async hook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: Record<string, unknown>, action = 'unknown', result = 'refused') => {
      this.metrics.hookEvents.inc({ action: ACTIONS.has(action) ? action : 'other', result });
      send(
        res,
        status,
        body,
        status === 401 ? { 'www-authenticate': 'Bearer realm="powerview", Basic realm="powerview"' } : {},
      );
    };
    if (!authorized(req.headers.authorization, this.options.hookSecret)) {
      req.resume();
      return reply(401, { error: 'missing or wrong hook secret' });
    }
    let event;
    try {
      event = parseEvent(await readBody(req));
    } catch (err) {
      if (err instanceof HookError) {
        if (err.status === 413) res.setHeader('connection', 'close');
        return reply(err.status, { error: err.message });
      }
      throw err;
    }
    const action = event.action;
    if (this.draining) return reply(503, { error: 'stopping: retry later' }, action, 'refused');
    let path: string;
    try {
      path = await pathInRoot(this.rootReal, event);
    } catch (err) {
      if (err instanceof HookError) {
        this.log?.warn({ event: 'hook_refused', action, status: err.status, error: err.message }, 'hook refused');
        return reply(err.status, { error: err.message }, action);
      }
      throw err;
    }
    const { kind, parts } = classify(this.rootReal, path);
    if ((action === 'upload' || action === 'rename' || action === 'mkdir') && kind !== 'other') {
      try {
        checkOwner(event, parts[0], this.options.hookUserMap ?? new Map());
      } catch (err) {
        if (!(err instanceof HookError)) throw err;
        this.log?.warn(
          { event: 'hook_refused', action, status: err.status, username: event.username, path, error: err.message },
          'hook refused',
        );
        return reply(err.status, { error: err.message }, action);
      }
    }
    let je: JournalEvent | null = null;
    if ((action === 'upload' || action === 'rename') && kind === 'file') {
      // status 1: the upload completed; 2 (error) and 3 (quota exceeded) leave a partial file, not ours to read
      if (action === 'upload' && event.status !== 1) {
        return reply(200, { result: 'ignored', reason: `upload status ${event.status}` }, action, 'ignored');
      }
      // what the event announces: a replay after a crash takes it without a settle only if the file is still this one
      const st = await lstat(path).catch(() => null);
      je = { kind: 'upload', path, at: Date.now(), ...(st ? { size: st.size, ino: st.ino, mtimeMs: st.mtimeMs } : {}) };
      if (st) this.stamps.set(path, { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
      // announced: not the watch's any more (an event is authoritative)
      this.watchFound.delete(path);
    } else if (action === 'mkdir' && (kind === 'campaign' || kind === 'company')) {
      je = { kind: 'provision', path, at: Date.now() };
    }
    if (!je) return reply(200, { result: 'ignored' }, action, 'ignored');
    // in memory first (a file may be taken at once), then on disk: 200 only once it is durable
    const isNew = this.accept(je);
    try {
      await this.journal.append(je);
    } catch (err) {
      this.log?.error({ event: 'journal', error: errorMessage(err) }, 'event not written to the journal');
      return reply(503, { error: `event not queued durably: ${errorMessage(err)}` }, action, 'refused');
    }
    this.log?.info({ event: 'hook', action, path, duplicate: !isNew }, 'hook event queued');
    reply(200, { result: 'queued', duplicate: !isNew }, action, 'queued');
  }

  private sampleGauges(): void {
    const m = this.metrics;
    const { pending, inFlight } = this.scheduler.depth;
    m.queueDepth.set({ queue: 'files_pending' }, pending);
    m.queueDepth.set({ queue: 'files_in_flight' }, inFlight);
    m.queueDepth.set({ queue: 'files_settling' }, this.watch.settling);
    m.queueDepth.set({ queue: 'provisions' }, this.provisions.size);
    if (this.running) {
      m.queueDepth.set({ queue: 'blocks' }, this.running.pipeline.blocksInFlight);
      m.bytesInFlight.set(this.running.batcher.bytesInFlight);
      const u = this.running.pipeline.utilization;
      if (u !== null) m.workerUtilization.set(u);
    }
  }

  /** Stores reachable, migrations applied (cached one second: probes are frequent). */
  private async readiness(): Promise<{ ok: boolean; detail: Record<string, string> }> {
    if (Date.now() - this.ready.at < 1000) return this.ready;
    const detail: Record<string, string> = {};
    const [influx, pg] = await Promise.all([
      this.influxHttp.ping(),
      assertMigrated(this.options.pool).then(
        () => 'ok',
        (err: unknown) => {
          this.notePgFailure(err);
          const { owner, cause } = failureOwner(err);
          return owner === 'credentials' ? cause : errorMessage(err);
        },
      ),
    ]);
    detail.influxdb = this.health.problem('influxdb') ?? (influx ? 'ok' : 'unreachable');
    detail.postgres = pg === 'ok' ? (this.health.problem('postgres') ?? 'ok') : pg;
    if (this.jobDown && Date.now() - this.jobDownAt > 60_000 && this.running) this.jobDown = null;
    if (this.jobDown) detail.ingest = this.jobDown;
    if (this.draining) detail.service = 'stopping';
    const ok = detail.influxdb === 'ok' && detail.postgres === 'ok' && !this.jobDown && !this.draining;
    this.ready = { at: Date.now(), ok, detail };
    return this.ready;
  }
}

const PROCESSED = new Set(['parsed', 'error']);

/**
 * Batching windows of serve (bench/latency --max, docs/benchmarks.md): a file
 * arriving alone waits this long for others to share its InfluxDB request
 * and its PostgreSQL transaction, well within the 1 s latency bar; shorter
 * windows made each file pay a request and a commit of its own.
 */
const INFLUX_LINGER_MS = 100;
const COMMIT_LINGER_MS = 50;
/** small groups: a backlog is committed in short transactions, not one long one (latency) */
const COMMIT_MAX_FILES = 16;
/** a device's claims are kept this long after its last file: its next file takes them without round trips */
const CLAIM_LINGER_MS = 2000;

/** a file in the job at this many crashes in a row is failed alone */
const CRASH_SUSPECT = 3;

const ACTIONS = new Set([
  'upload',
  'mkdir',
  'rename',
  'delete',
  'download',
  'rmdir',
  'pre-upload',
  'pre-download',
  'pre-delete',
  'ssh_cmd',
]);

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
