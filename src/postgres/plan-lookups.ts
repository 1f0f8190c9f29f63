import type { Pool } from 'pg';
import type { Run } from '../model/values.js';
import type { KnownFile } from './commit-types.js';

/**
 * What the planner asks PostgreSQL before a file is parsed
 * (docs/architecture.md#postgresql-output-and-exactly-once): the ledger row of
 * the same bytes, the device's known layout, and its committed coverage.
 */

export async function deviceLayout(pool: Pool, tenant: string, device: string): Promise<string | null> {
  const r = await pool.query<{ layout: string | null }>(
    'SELECT layout FROM core.devices WHERE tenant = $1 AND device_master_sn = $2',
    [tenant, device],
  );
  return r.rows[0]?.layout ?? null;
}

interface CoverageRow {
  channel_id: string | null;
  t_start: string;
  step: number;
  n: number;
}

/** Runs per channel id; rows without a channel (the version row of an empty join) are skipped. */
function runsByChannel(rows: readonly CoverageRow[]): Map<string, Run[]> {
  const out = new Map<string, Run[]>();
  for (const row of rows) {
    if (row.channel_id === null) continue;
    const list = out.get(row.channel_id) ?? [];
    list.push({ start: Number(row.t_start), step: row.step, n: row.n });
    out.set(row.channel_id, list);
  }
  return out;
}

/**
 * Committed runs of the device's channels that reach into [from, to] (without
 * those of `excludeFile`), with the device's coverage version
 * read in the same statement (one snapshot): the version the commit fence
 * compares against.
 */
export async function coverageVersioned(
  pool: Pool,
  tenant: string,
  device: string,
  from: number,
  to: number,
  excludeFile: number | null,
): Promise<{ runs: Map<string, Run[]>; version: number }> {
  const r = await pool.query<CoverageRow & { version: string }>(
    `SELECT v.version, c.channel_id, c.t_start, c.step, c.n
       FROM (SELECT coalesce((SELECT version FROM core.device_coverage_versions
                               WHERE tenant = $1 AND device_master_sn = $2), 0) AS version) v
       LEFT JOIN core.coverage c ON c.tenant = $1 AND c.device_master_sn = $2 AND c.t_end >= $3 AND c.t_start <= $4
        AND ($5::bigint IS NULL OR c.file_id <> $5)`,
    [tenant, device, from, to, excludeFile],
  );
  return { runs: runsByChannel(r.rows), version: Number(r.rows[0]?.version ?? 0) };
}

/** What a file's plan reads, in one statement (one snapshot, one round trip). */
export interface PlanLookup {
  known: KnownFile | null;
  runs: Map<string, Run[]>;
  version: number;
}

/**
 * The ledger row of the same bytes, the device's coverage version and its
 * committed runs reaching into [from, to] (none when `range` is null: a file
 * without rows), read by one statement: the planner's per-file round trip.
 */
export async function planLookup(
  pool: Pool,
  tenant: string,
  sha256: string,
  device: string,
  range: { from: number; to: number } | null,
): Promise<PlanLookup> {
  const r = await pool.query<CoverageRow & { version: string; file_id: string | null; status: string; path: string }>(
    `SELECT v.version, k.file_id, k.status, k.path, c.channel_id, c.t_start, c.step, c.n
       FROM (SELECT coalesce((SELECT version FROM core.device_coverage_versions
                               WHERE tenant = $1 AND device_master_sn = $2), 0) AS version) v
       LEFT JOIN core.files k ON k.tenant = $1 AND k.sha256 = $5
       LEFT JOIN core.coverage c ON $3::bigint IS NOT NULL AND c.tenant = $1 AND c.device_master_sn = $2
        AND c.t_end >= $3 AND c.t_start <= $4`,
    [tenant, device, range?.from ?? null, range?.to ?? null, sha256],
  );
  const first = r.rows[0];
  const known = first?.file_id ? { fileId: Number(first.file_id), status: first.status, path: first.path } : null;
  return { known, runs: runsByChannel(r.rows), version: Number(first?.version ?? 0) };
}

/** The device's coverage version now (0 before its first commit). */
export async function coverageVersion(pool: Pool, tenant: string, device: string): Promise<number> {
  const r = await pool.query<{ version: string }>(
    'SELECT version FROM core.device_coverage_versions WHERE tenant = $1 AND device_master_sn = $2',
    [tenant, device],
  );
  return Number(r.rows[0]?.version ?? 0);
}
