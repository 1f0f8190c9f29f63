import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { FileHeader } from '../tsv/header.js';
import type { FileReport } from '../pipeline/report.js';
import type { FileAggregates } from '../pipeline/pipeline.js';
import { H } from '../tsv/block-parser.js';
import type { Run } from '../pipeline/coverage.js';
import type { Metrics } from '../metrics/metrics.js';

/** One text-format COPY field: NULL for non-finite numbers, escapes for text. */
function field(v: string | number | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '\\N';
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

export interface CommitInput {
  report: FileReport;
  agg: FileAggregates;
  runId: string;
  layoutDrift: boolean;
  /** ledger row of the same bytes to replace (--force) */
  replace: number | null;
  /** the device's coverage version the plan read with its committed coverage (null or absent: not fenced) */
  planVersion?: number | null;
}

/**
 * Checked inside a commit's transaction, before COMMIT: throws when this
 * process may no longer commit these files (the service's claim on their
 * device was lost), which rolls the commit back.
 */
export type CommitFence = (client: PoolClient, inputs: readonly CommitInput[]) => Promise<void>;

/**
 * The same bytes are already committed: by this run (the same file came twice,
 * under another name or path) or meanwhile by another process. Nothing to add.
 */
export class AlreadyCommittedError extends Error {
  constructor(
    readonly sha256: string,
    /** the committed row: its path and whether this run committed it */
    readonly by: { path: string; sameRun: boolean } | null = null,
  ) {
    const bytes = `the same bytes (sha256 ${sha256.slice(0, 12)}…)`;
    super(
      !by
        ? `${bytes} were committed by another process`
        : by.sameRun
          ? `${bytes} came twice in this run: already committed from ${by.path}`
          : `${bytes} were already committed from ${by.path} by another run or process`,
    );
  }
}

/**
 * The commit fence refused the plan: another process committed coverage of
 * the device after the plan read it, so the plan may count points twice.
 * Nothing was written; the file is to be planned again.
 */
export class StaleCoverageError extends Error {
  constructor(
    readonly tenant: string,
    readonly device: string,
    readonly planVersion: number,
    readonly version: number,
  ) {
    super(
      `coverage of device ${device} changed since the plan (version ${planVersion} → ${version}, by another process): planned again`,
    );
    this.name = 'StaleCoverageError';
  }
}

export interface IngestStoreOptions {
  /** how long the first ready file waits for others to share its commit (default 200 ms) */
  lingerMs?: number;
  /** files per commit at most (default 64; fewer: shorter commits, lower latency under a backlog) */
  maxGroup?: number;
  fence?: CommitFence;
  metrics?: Metrics;
}

export interface KnownFile {
  fileId: number;
  status: string;
  /** where the file was when it was ingested (the ledger's path) */
  path: string;
}

/** Campaigns and devices a long job remembers having written (oldest forgotten first). */
const CACHE_MAX = 10_000;

/**
 * The PostgreSQL side of one file (docs/architecture.md#postgresql-output-and-exactly-once): what is already held (ledger,
 * coverage, known layout), and the commit that makes a file's aggregates,
 * coverage and ledger row visible together.
 */
export class IngestStore {
  private readonly tenants = new Set<string>();
  /** committed files, hourly rows copied, coverage runs copied, and time spent in commits */
  readonly stats = { commits: 0, hourlyRows: 0, coverageRows: 0, commitSeconds: 0 };

  private readonly lingerMs: number;
  private readonly maxGroup: number;

  constructor(
    private readonly pool: Pool,
    private readonly options: IngestStoreOptions = {},
  ) {
    this.lingerMs = options.lingerMs ?? GROUP_LINGER_MS;
    this.maxGroup = options.maxGroup ?? GROUP_MAX;
  }

  /** The tenant (with its role) and campaign rows, once per run. */
  async ensureTenant(tenant: string, campaign: string): Promise<void> {
    const key = `${tenant}\u0000${campaign}`;
    if (this.tenants.has(key)) return;
    await this.pool.query('SELECT core.ensure_tenant($1)', [tenant]);
    await this.pool.query('INSERT INTO core.campaigns (tenant, campaign) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      tenant,
      campaign,
    ]);
    this.tenants.add(key);
    // bounded: a forgotten campaign only costs the two idempotent statements again
    if (this.tenants.size > CACHE_MAX) this.tenants.delete(this.tenants.values().next().value!);
  }

  async knownFile(tenant: string, sha256: string): Promise<KnownFile | null> {
    const r = await this.pool.query<{ file_id: string; status: string; path: string }>(
      'SELECT file_id, status, path FROM core.files WHERE tenant = $1 AND sha256 = $2',
      [tenant, sha256],
    );
    const row = r.rows[0];
    return row ? { fileId: Number(row.file_id), status: row.status, path: row.path } : null;
  }

  async deviceLayout(tenant: string, device: string): Promise<string | null> {
    const r = await this.pool.query<{ layout: string | null }>(
      'SELECT layout FROM core.devices WHERE tenant = $1 AND device_master_sn = $2',
      [tenant, device],
    );
    return r.rows[0]?.layout ?? null;
  }

  /** Committed runs of the device's channels that reach into [from, to], per channel id. */
  async coverage(
    tenant: string,
    device: string,
    from: number,
    to: number,
    excludeFile: number | null,
  ): Promise<Map<string, Run[]>> {
    const r = await this.pool.query<{ channel_id: string; t_start: string; step: number; n: number }>(
      `SELECT channel_id, t_start, step, n FROM core.coverage
        WHERE tenant = $1 AND device_master_sn = $2 AND t_end >= $3 AND t_start <= $4
          AND ($5::bigint IS NULL OR file_id <> $5)`,
      [tenant, device, from, to, excludeFile],
    );
    const out = new Map<string, Run[]>();
    for (const row of r.rows) {
      const list = out.get(row.channel_id) ?? [];
      list.push({ start: Number(row.t_start), step: row.step, n: row.n });
      out.set(row.channel_id, list);
    }
    return out;
  }

  /**
   * Committed runs as `coverage()` does, with the device's coverage version
   * read in the same statement (one snapshot): the version the commit fence
   * compares against.
   */
  async coverageVersioned(
    tenant: string,
    device: string,
    from: number,
    to: number,
    excludeFile: number | null,
  ): Promise<{ runs: Map<string, Run[]>; version: number }> {
    const r = await this.pool.query<{
      version: string;
      channel_id: string | null;
      t_start: string;
      step: number;
      n: number;
    }>(
      `SELECT v.version, c.channel_id, c.t_start, c.step, c.n
         FROM (SELECT coalesce((SELECT version FROM core.device_coverage_versions WHERE tenant = $1 AND device_master_sn = $2), 0) AS version) v
         LEFT JOIN core.coverage c ON c.tenant = $1 AND c.device_master_sn = $2 AND c.t_end >= $3 AND c.t_start <= $4
          AND ($5::bigint IS NULL OR c.file_id <> $5)`,
      [tenant, device, from, to, excludeFile],
    );
    const runs = new Map<string, Run[]>();
    for (const row of r.rows) {
      if (row.channel_id === null) continue;
      const list = runs.get(row.channel_id) ?? [];
      list.push({ start: Number(row.t_start), step: row.step, n: row.n });
      runs.set(row.channel_id, list);
    }
    return { runs, version: Number(r.rows[0]?.version ?? 0) };
  }

  /** The device's coverage version now (0 before its first commit). */
  async coverageVersion(tenant: string, device: string): Promise<number> {
    const r = await this.pool.query<{ version: string }>(
      'SELECT version FROM core.device_coverage_versions WHERE tenant = $1 AND device_master_sn = $2',
      [tenant, device],
    );
    return Number(r.rows[0]?.version ?? 0);
  }

  /** device → versions made by this store's own commits (a plan is not stale for the commits of its own run) */
  private readonly ownVersions = new Map<string, Set<number>>();

  private rememberOwn(key: string, version: number): void {
    // bounded (serve runs for months): a plan older than the versions forgotten is refused and planned again, never wrong
    let own = this.ownVersions.get(key);
    if (own) this.ownVersions.delete(key);
    else own = new Set<number>();
    this.ownVersions.set(key, own);
    own.add(version);
    if (own.size > OWN_VERSIONS_KEPT) own.delete(own.values().next().value as number);
    if (this.ownVersions.size > OWN_DEVICES_KEPT)
      this.ownVersions.delete(this.ownVersions.keys().next().value as string);
  }

  /**
   * The fence, first thing in a commit's transaction: each device's version
   * row is locked (devices in one order: no deadlock between groups) and
   * bumped; a file whose plan read an older version than the one before this
   * bump is refused unless every version in between was made by this store.
   */
  private async fenceCoverage(client: PoolClient, inputs: readonly CommitInput[]): Promise<Array<[string, number]>> {
    const byDevice = new Map<string, { tenant: string; device: string; plans: number[] }>();
    for (const input of inputs) {
      const key = `${input.report.company}\u0000${input.agg.header.masterSn}`;
      const d = byDevice.get(key) ?? { tenant: input.report.company, device: input.agg.header.masterSn, plans: [] };
      if (input.planVersion !== undefined && input.planVersion !== null) d.plans.push(input.planVersion);
      byDevice.set(key, d);
    }
    const made: Array<[string, number]> = [];
    for (const key of [...byDevice.keys()].sort()) {
      const d = byDevice.get(key)!;
      const r = await client.query<{ version: string }>(
        `INSERT INTO core.device_coverage_versions AS v (tenant, device_master_sn, version) VALUES ($1, $2, 1)
         ON CONFLICT (tenant, device_master_sn) DO UPDATE SET version = v.version + 1
         RETURNING version`,
        [d.tenant, d.device],
      );
      const next = Number(r.rows[0].version);
      const own = this.ownVersions.get(key);
      for (const planned of d.plans) {
        for (let v = planned + 1; v < next; v++)
          if (!own?.has(v)) throw new StaleCoverageError(d.tenant, d.device, planned, next - 1);
      }
      made.push([key, next]);
    }
    return made;
  }

  /**
   * Commits a file: its ledger row, hourly partials (COPY to staging, then
   * merged), coverage runs, device and channels, all or nothing. Files that
   * become ready while a commit runs are committed together in the next
   * transaction (group commit: one fsync for many small files); if a group
   * fails, its files are committed one by one so only the faulty one fails.
   * With `replace`, the earlier ingest of the same bytes is removed first and
   * the hours it touched rebuilt from what remains.
   */
  commitFile(input: CommitInput): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private readonly queue: Array<{ input: CommitInput; resolve: (id: number) => void; reject: (err: unknown) => void }> =
    [];
  private draining = false;
  /** devices whose row and channels this run already wrote, with the layout written */
  private readonly devicesDone = new Map<string, string>();

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        // let a group form: every commit is an fsync, shared by the files it holds
        const until = Date.now() + this.lingerMs;
        while (this.queue.length < this.maxGroup && Date.now() < until)
          await new Promise((r) => setTimeout(r, Math.min(10, this.lingerMs)));
        const group = this.queue.splice(0, this.maxGroup);
        try {
          const ids = await this.commitGroup(group.map((g) => g.input));
          group.forEach((g, k) => g.resolve(ids[k]));
        } catch (err) {
          if (group.length === 1) {
            group[0].reject(err);
            continue;
          }
          // one file spoiled the group: each on its own, so only that one fails
          for (const g of group) {
            try {
              g.resolve((await this.commitGroup([g.input]))[0]);
            } catch (e) {
              g.reject(e);
            }
          }
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async commitGroup(inputs: CommitInput[]): Promise<number[]> {
    const client = await this.pool.connect();
    // checked out, the client has no pool listener: a backend lost between queries would emit an unheard 'error'
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    const t0 = performance.now();
    const written: string[] = [];
    try {
      await client.query('BEGIN');
      const versions = await this.fenceCoverage(client, inputs);
      const ids: number[] = [];
      for (const input of inputs) {
        if (input.replace !== null) await this.removeFile(client, input.replace);
        ids.push(await this.insertLedgerRow(client, input));
      }
      const batch = ids[0];
      await copyRows(
        client,
        'staging.hourly_partials',
        HOURLY_COLUMNS,
        (function* () {
          for (let k = 0; k < inputs.length; k++) {
            const { report, agg } = inputs[k];
            yield* hourlyRows(batch, ids[k], report.company, report.campaign, agg.header, agg.hourly);
          }
        })(),
      );
      await client.query('SELECT core.merge_hourly($1)', [batch]);
      await copyRows(
        client,
        'core.coverage',
        COVERAGE_COLUMNS,
        (function* () {
          for (let k = 0; k < inputs.length; k++)
            yield* coverageRows(ids[k], inputs[k].report.company, inputs[k].agg.header, inputs[k].agg.coverage);
        })(),
      );
      for (const input of inputs) {
        const key = `${input.report.company}\u0000${input.agg.header.masterSn}`;
        if (this.devicesDone.get(key) === input.agg.header.layout) continue;
        await this.upsertDevice(client, input.report.company, input.agg.header);
        this.devicesDone.delete(key);
        this.devicesDone.set(key, input.agg.header.layout);
        // bounded: a forgotten device only costs its (idempotent) upsert again
        if (this.devicesDone.size > CACHE_MAX) this.devicesDone.delete(this.devicesDone.keys().next().value!);
        written.push(key);
      }
      await this.options.fence?.(client, inputs);
      await client.query('COMMIT');
      for (const [key, v] of versions) this.rememberOwn(key, v);
      this.stats.commits++;
      let hourly = 0;
      let coverage = 0;
      for (const { agg } of inputs) {
        hourly += agg.hourly.size;
        coverage += agg.coverage.reduce((n, runs) => n + runs.length, 0);
      }
      this.stats.hourlyRows += hourly;
      this.stats.coverageRows += coverage;
      const seconds = (performance.now() - t0) / 1000;
      this.stats.commitSeconds += seconds;
      const m = this.options.metrics;
      if (m) {
        m.pgCommit.observe(seconds);
        m.pgCopyRows.inc({ table: 'hourly' }, hourly);
        m.pgCopyRows.inc({ table: 'coverage' }, coverage);
      }
      return ids;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      for (const key of written) this.devicesDone.delete(key);
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  private async insertLedgerRow(client: PoolClient, input: CommitInput): Promise<number> {
    const { report, agg } = input;
    const ins = await client.query<{ file_id: string }>(
      `INSERT INTO core.files (tenant, campaign, device_master_sn, path, sha256, size, export_time, status, rows, points,
         duplicate_rows, invalid_timestamps, invalid_values, truncated_rows, first_time, last_time, layout, layout_drift, run_id)
       VALUES ($1,$2,$3,$4,$5,$6,$7,'ok',$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)
       ON CONFLICT (tenant, sha256) DO UPDATE SET
         campaign = EXCLUDED.campaign, device_master_sn = EXCLUDED.device_master_sn, path = EXCLUDED.path,
         export_time = EXCLUDED.export_time, status = 'ok', rows = EXCLUDED.rows, points = EXCLUDED.points,
         duplicate_rows = EXCLUDED.duplicate_rows, invalid_timestamps = EXCLUDED.invalid_timestamps,
         invalid_values = EXCLUDED.invalid_values, truncated_rows = EXCLUDED.truncated_rows,
         first_time = EXCLUDED.first_time, last_time = EXCLUDED.last_time, layout = EXCLUDED.layout,
         layout_drift = EXCLUDED.layout_drift, error = NULL, run_id = EXCLUDED.run_id, ingested_at = now()
         WHERE core.files.status = 'error'
       RETURNING file_id`,
      [
        report.company,
        report.campaign,
        agg.header.masterSn,
        report.path,
        agg.sha256,
        report.bytes,
        report.export_time ?? null,
        report.rows,
        report.points,
        report.duplicate_rows,
        report.invalid_timestamps.count,
        report.invalid_values.count,
        report.truncated_rows.count,
        report.time_range?.first ?? null,
        report.time_range?.last ?? null,
        agg.header.layout,
        input.layoutDrift,
        input.runId,
      ],
    );
    // an 'ok' row of the same bytes is never overwritten: another process committed them meanwhile
    if (!ins.rows[0]) {
      const held = await client.query<{ path: string; run_id: string | null }>(
        'SELECT path, run_id FROM core.files WHERE tenant = $1 AND sha256 = $2',
        [report.company, agg.sha256],
      );
      const row = held.rows[0];
      throw new AlreadyCommittedError(
        agg.sha256,
        row ? { path: row.path, sameRun: row.run_id !== null && String(row.run_id) === String(input.runId) } : null,
      );
    }
    return Number(ins.rows[0].file_id);
  }

  /** The device row and its channels: once per run and layout, not once per file. */
  private async upsertDevice(client: PoolClient, tenant: string, header: FileHeader): Promise<void> {
    const device = header.masterSn;
    await client.query(
      `INSERT INTO core.devices (tenant, device_master_sn, master_type, layout, layout_channels, first_seen, last_seen)
       VALUES ($1, $2, $3, $4, $5, now(), now())
       ON CONFLICT (tenant, device_master_sn) DO UPDATE
         SET master_type = EXCLUDED.master_type, layout = EXCLUDED.layout,
             layout_channels = EXCLUDED.layout_channels, last_seen = now()`,
      [tenant, device, header.masterType, header.layout, JSON.stringify(header.channels.map((c) => c.channelId))],
    );
    await client.query(
      `INSERT INTO core.channels (tenant, device_master_sn, channel_id, channel_label, channel_name, channel_unit, device_sn, device_type)
       SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
       ON CONFLICT (tenant, channel_id) DO UPDATE
         SET channel_label = EXCLUDED.channel_label, channel_name = EXCLUDED.channel_name,
             channel_unit = EXCLUDED.channel_unit, device_sn = EXCLUDED.device_sn, device_type = EXCLUDED.device_type`,
      [
        tenant,
        device,
        header.channels.map((c) => c.channelId),
        header.channels.map((c) => c.label),
        header.channels.map((c) => c.name),
        header.channels.map((c) => c.unit),
        header.channels.map((c) => c.deviceSn),
        header.channels.map((c) => c.deviceType),
      ],
    );
  }

  /**
   * A file that could not be ingested, in the ledger with its cause. A later
   * upload of the same bytes replaces the row; an ingested file is never
   * overwritten by a failure.
   */
  async recordFailure(report: FileReport, runId: string): Promise<void> {
    if (!report.sha256) return;
    await this.ensureTenant(report.company, report.campaign);
    await this.pool.query(
      `INSERT INTO core.files (tenant, campaign, device_master_sn, path, sha256, size, export_time, status, rows, points,
         invalid_timestamps, invalid_values, truncated_rows, error, run_id)
       VALUES ($1,$2,$3,$4,$5,$6,$7,'error',$8,$9,$10,$11,$12,$13,$14)
       ON CONFLICT (tenant, sha256) DO UPDATE SET path = EXCLUDED.path, error = EXCLUDED.error, run_id = EXCLUDED.run_id,
         ingested_at = now()
         WHERE core.files.status = 'error'`,
      [
        report.company,
        report.campaign,
        report.master_sn ?? report.device,
        report.path,
        report.sha256,
        report.bytes,
        report.export_time ?? null,
        report.rows,
        report.points,
        report.invalid_timestamps.count,
        report.invalid_values.count,
        report.truncated_rows.count,
        report.error ? `${report.error.code}: ${report.error.message}` : null,
        runId,
      ],
    );
  }

  /** Removes a file's contribution and rebuilds the hours it touched from the other files. */
  private async removeFile(client: PoolClient, fileId: number): Promise<void> {
    const touched = await client.query<{
      tenant: string;
      device_master_sn: string;
      channel_ids: string[];
      hours: Date[];
    }>(
      `SELECT tenant, device_master_sn, array_agg(channel_id) AS channel_ids, array_agg(hour) AS hours
         FROM core.file_hourly WHERE file_id = $1 GROUP BY tenant, device_master_sn`,
      [fileId],
    );
    await client.query('DELETE FROM core.files WHERE file_id = $1', [fileId]);
    for (const t of touched.rows) {
      await client.query('SELECT core.recompute_hourly($1, $2, $3, $4)', [
        t.tenant,
        t.device_master_sn,
        t.channel_ids,
        t.hours,
      ]);
    }
  }
}

/** own commit versions remembered per device, and devices remembered (least recently committed forgotten first) */
const OWN_VERSIONS_KEPT = 256;
const OWN_DEVICES_KEPT = 4096;

/** files per commit, and how long the first one waits for others to join it */
const GROUP_MAX = 64;
const GROUP_LINGER_MS = 200;

const HOURLY_COLUMNS = [
  'batch_id',
  'file_id',
  'tenant',
  'campaign',
  'device_master_sn',
  'channel_id',
  'channel_unit',
  'hour',
  'samples',
  'sum_value',
  'min_value',
  'max_value',
  'first_time',
  'first_value',
  'last_time',
  'last_value',
  'energy_wh',
];

function* hourlyRows(
  batch: number,
  fileId: number,
  tenant: string,
  campaign: string,
  header: FileHeader,
  hourly: Map<number, Float64Array>,
): Generator<string> {
  // the text columns of a channel are the same on every row: escaped once per file
  const prefixes = header.channels.map(
    (ch) => [batch, fileId, tenant, campaign, header.masterSn, ch.channelId, ch.unit].map(field).join('\t') + '\t',
  );
  // the channels of a row share their hour and mostly their first/last times: format each once
  const stamps = new Map<number, string>();
  const iso = (epoch: number): string => {
    let text = stamps.get(epoch);
    if (text === undefined) {
      text = new Date(epoch * 1000).toISOString();
      stamps.set(epoch, text);
    }
    return text;
  };
  for (const p of hourly.values()) {
    const c = p[H.channel];
    const energy = header.channels[c].unit === 'W' ? num(p[H.energy] / 3600) : '\\N';
    yield `${prefixes[c]}${iso(p[H.hour])}\t${num(p[H.samples])}\t${num(p[H.sum])}\t${num(p[H.min])}\t${num(p[H.max])}\t${iso(p[H.firstTime])}\t${num(p[H.firstValue])}\t${iso(p[H.lastTime])}\t${num(p[H.lastValue])}\t${energy}`;
  }
}

/** A number as a COPY text field: NULL when not finite. */
function num(v: number): string {
  return Number.isFinite(v) ? String(v) : '\\N';
}

const COVERAGE_COLUMNS = ['tenant', 'device_master_sn', 'channel_id', 'file_id', 't_start', 'step', 'n'];

function* coverageRows(fileId: number, tenant: string, header: FileHeader, coverage: Run[][]): Generator<string> {
  for (let c = 0; c < coverage.length; c++) {
    for (const r of coverage[c]) {
      yield [tenant, header.masterSn, header.channels[c].channelId, fileId, r.start, r.step, r.n].map(field).join('\t');
    }
  }
}

/**
 * COPY … FROM STDIN in text format, streamed with backpressure
 * (pg-copy-streams). Rows go in chunks of ~64 KiB: one CopyData message and
 * one socket write per chunk, not per row.
 */
async function copyRows(client: PoolClient, table: string, columns: string[], rows: Iterable<string>): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  const source = Readable.from(
    (function* () {
      let chunk = '';
      for (const row of rows) {
        chunk += `${row}\n`;
        if (chunk.length >= 65536) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    })(),
  );
  await pipeline(source, stream);
}
