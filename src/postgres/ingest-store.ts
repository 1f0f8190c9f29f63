import type { Pool, PoolClient } from 'pg';
import type { FileReport } from '../model/values.js';
import type { Run } from '../model/values.js';
import { COVERAGE_COLUMNS, coverageRows, HOURLY_COLUMNS, hourlyRows } from './commit-rows.js';
import { deviceKey, tenantOf, type CommitInput, type IngestStoreOptions } from './commit-types.js';
import { copyRows } from './copy-encoder.js';
import { fenceCoverage, OwnVersions } from './coverage-fence.js';
import { withTransaction } from './db.js';
import { removeFile } from './force.js';
import { GROUP_LINGER_MS, GROUP_MAX, GroupCommitter } from './group-commit.js';
import { ensureTenantRows, insertFailureRow, insertLedgerRow, upsertDevice } from './ledger.js';
import * as lookups from './plan-lookups.js';
import { writeQuality, type CommitQuality } from './quality-store.js';
import { insertConflictFindings } from './conflict-findings.js';

export {
  AlreadyCommittedError,
  StaleCoverageError,
  type CommitFence,
  type CommitInput,
  type IngestStoreOptions,
  type KnownFile,
} from './commit-types.js';

/** Campaigns and devices a long job remembers having written (oldest forgotten first). */
const CACHE_MAX = 10_000;

/**
 * The PostgreSQL side of one file (docs/architecture.md#postgresql-output-and-exactly-once): what is already held
 * (ledger, coverage, known layout), and the commit that makes a file's aggregates, coverage and ledger row visible
 * together. The SQL lives beside it: plan-lookups.ts, ledger.ts, force.ts, coverage-fence.ts, commit-rows.ts.
 */
export class IngestStore {
  /** committed files, hourly rows copied, coverage runs copied, and time spent in commits */
  readonly stats = { commits: 0, hourlyRows: 0, coverageRows: 0, commitSeconds: 0 };

  private readonly campaigns = new Set<string>();
  /** devices whose row and channels this run already wrote, with the layout written */
  private readonly devicesDone = new Map<string, string>();
  private readonly own = new OwnVersions();
  private readonly committer: GroupCommitter<CommitInput, number>;
  /** what committed files' quality checks found (gaps, layout changes), until takeQuality */
  private readonly quality = new Map<number, CommitQuality>();

  constructor(
    private readonly pool: Pool,
    private readonly options: IngestStoreOptions = {},
  ) {
    this.committer = new GroupCommitter(
      (inputs) => this.commitGroup(inputs),
      options.lingerMs ?? GROUP_LINGER_MS,
      options.maxGroup ?? GROUP_MAX,
    );
  }

  /** The tenant (with its role) and campaign rows, once per run. */
  async ensureTenant(tenant: string, campaign: string): Promise<void> {
    const key = `${tenant}\u0000${campaign}`;
    if (this.campaigns.has(key)) return;
    await ensureTenantRows(this.pool, tenant, campaign);
    this.campaigns.add(key);
    // bounded: a forgotten campaign only costs the two idempotent statements again
    if (this.campaigns.size > CACHE_MAX) this.campaigns.delete(this.campaigns.values().next().value!);
  }

  /** The same bytes' ledger row, the device's coverage version and runs in [from, to]: one round trip. */
  planLookup(
    tenant: string,
    sha256: string,
    device: string,
    range: { from: number; to: number } | null,
  ): Promise<lookups.PlanLookup> {
    return lookups.planLookup(this.pool, tenant, sha256, device, range);
  }

  deviceLayout(tenant: string, device: string): Promise<string | null> {
    return lookups.deviceLayout(this.pool, tenant, device);
  }

  /** Committed runs with the device's coverage version, read in one snapshot (what the fence compares against). */
  coverageVersioned(
    tenant: string,
    device: string,
    from: number,
    to: number,
    excludeFile: number | null,
  ): Promise<{ runs: Map<string, Run[]>; version: number }> {
    return lookups.coverageVersioned(this.pool, tenant, device, from, to, excludeFile);
  }

  /** The device's coverage version now (0 before its first commit). */
  coverageVersion(tenant: string, device: string): Promise<number> {
    return lookups.coverageVersion(this.pool, tenant, device);
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
    return this.committer.submit(input);
  }

  /** What the commit of `fileId` found beyond the file's own findings (once: the entry is forgotten). */
  takeQuality(fileId: number): CommitQuality | null {
    const q = this.quality.get(fileId) ?? null;
    this.quality.delete(fileId);
    return q;
  }

  /**
   * A file that could not be ingested, in the ledger with its cause. A later
   * upload of the same bytes replaces the row; an ingested file is never
   * overwritten by a failure.
   */
  async recordFailure(report: FileReport, runId: string): Promise<void> {
    if (!report.sha256) return;
    // the report names the tenant after its folder, `<company>/<campaign>/<device>/`
    const tenant = report.tenant;
    await this.ensureTenant(tenant, report.campaign);
    await insertFailureRow(this.pool, tenant, report, report.sha256, runId);
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
      const { ids, versions, quality } = await withTransaction(client, () => this.writeGroup(client, inputs, written));
      for (const [key, v] of versions) this.own.remember(key, v);
      ids.forEach((id, k) => this.quality.set(id, quality[k]));
      this.count(inputs, (performance.now() - t0) / 1000);
      return ids;
    } catch (err) {
      for (const key of written) this.devicesDone.delete(key);
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** The statements of one group commit, inside its transaction; `written` gets the device keys upserted. */
  private async writeGroup(client: PoolClient, inputs: CommitInput[], written: string[]) {
    const versions = await fenceCoverage(client, inputs, this.own);
    const ids: number[] = [];
    for (const input of inputs) {
      if (input.replace !== null) await removeFile(client, input.replace);
      ids.push(await insertLedgerRow(client, input));
    }
    await insertConflictFindings(client, ids, inputs);
    const batch = ids[0];
    await copyRows(client, 'staging.hourly_partials', HOURLY_COLUMNS, groupHourlyRows(batch, ids, inputs));
    await client.query('SELECT core.merge_hourly($1)', [batch]);
    await copyRows(client, 'core.coverage', COVERAGE_COLUMNS, groupCoverageRows(ids, inputs));
    for (const input of inputs) {
      const tenant = tenantOf(input);
      const key = deviceKey(tenant, input.agg.header.masterSn);
      if (this.devicesDone.get(key) === input.agg.header.layout) continue;
      await upsertDevice(client, tenant, input.agg.header);
      this.devicesDone.delete(key);
      this.devicesDone.set(key, input.agg.header.layout);
      // bounded: a forgotten device only costs its (idempotent) upsert again
      if (this.devicesDone.size > CACHE_MAX) this.devicesDone.delete(this.devicesDone.keys().next().value!);
      written.push(key);
    }
    // after the coverage and the device rows: the gaps of each file's window (docs/reports.md#quality-rules)
    const quality: CommitQuality[] = [];
    for (let k = 0; k < inputs.length; k++) quality.push(await writeQuality(client, ids[k], inputs[k]));
    await this.options.fence?.(client, inputs);
    return { ids, versions, quality };
  }

  /** Stats and metrics of a durable commit. */
  private count(inputs: readonly CommitInput[], seconds: number): void {
    let hourly = 0;
    let coverage = 0;
    for (const { agg } of inputs) {
      hourly += agg.hourly.size;
      coverage += agg.coverage.reduce((n, runs) => n + runs.length, 0);
    }
    this.stats.commits++;
    this.stats.hourlyRows += hourly;
    this.stats.coverageRows += coverage;
    this.stats.commitSeconds += seconds;
    const m = this.options.metrics;
    if (m) {
      m.pgCommit.observe(seconds);
      m.pgCopyRows.inc({ table: 'hourly' }, hourly);
      m.pgCopyRows.inc({ table: 'coverage' }, coverage);
    }
  }
}

function* groupHourlyRows(batch: number, ids: readonly number[], inputs: readonly CommitInput[]): Generator<string> {
  for (let k = 0; k < inputs.length; k++) {
    const { report, agg } = inputs[k];
    yield* hourlyRows(batch, ids[k], tenantOf(inputs[k]), report.campaign, agg.header, agg.hourly);
  }
}

function* groupCoverageRows(ids: readonly number[], inputs: readonly CommitInput[]): Generator<string> {
  for (let k = 0; k < inputs.length; k++)
    yield* coverageRows(ids[k], tenantOf(inputs[k]), inputs[k].agg.header, inputs[k].agg.coverage);
}
