import type { ClientBase, Pool } from 'pg';
import type { FileHeader } from '../tsv/header.js';
import type { FileReport } from '../model/values.js';
import { AlreadyCommittedError, tenantOf, type CommitInput } from './commit-types.js';

/**
 * The ledger (core.files) and the rows a commit writes beside it: tenant,
 * campaign, device and channels (docs/architecture.md#postgresql-output-and-exactly-once).
 */

/** The tenant (with its role) and the campaign row: idempotent. */
export async function ensureTenantRows(pool: Pool, tenant: string, campaign: string): Promise<void> {
  await pool.query('SELECT core.ensure_tenant($1)', [tenant]);
  await pool.query('INSERT INTO core.campaigns (tenant, campaign) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    tenant,
    campaign,
  ]);
}

const INSERT_OK = `INSERT INTO core.files (tenant, campaign, device_master_sn, path, sha256, size, export_time, status,
    rows, points, duplicate_rows, invalid_timestamps, invalid_values, truncated_rows, first_time, last_time, layout,
    layout_drift, run_id, conflicting_points)
  VALUES ($1,$2,$3,$4,$5,$6,$7,'ok',$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)
  ON CONFLICT (tenant, sha256) DO UPDATE SET
    campaign = EXCLUDED.campaign, device_master_sn = EXCLUDED.device_master_sn, path = EXCLUDED.path,
    export_time = EXCLUDED.export_time, status = 'ok', rows = EXCLUDED.rows, points = EXCLUDED.points,
    duplicate_rows = EXCLUDED.duplicate_rows, invalid_timestamps = EXCLUDED.invalid_timestamps,
    invalid_values = EXCLUDED.invalid_values, truncated_rows = EXCLUDED.truncated_rows,
    first_time = EXCLUDED.first_time, last_time = EXCLUDED.last_time, layout = EXCLUDED.layout,
    layout_drift = EXCLUDED.layout_drift, error = NULL, run_id = EXCLUDED.run_id, ingested_at = now(),
    conflicting_points = EXCLUDED.conflicting_points
    WHERE core.files.status = 'error'
  RETURNING file_id`;

/** The file's 'ok' ledger row (replacing an 'error' row of the same bytes); its file_id. */
export async function insertLedgerRow(client: ClientBase, input: CommitInput): Promise<number> {
  const { report, agg } = input;
  const tenant = tenantOf(input);
  const ins = await client.query<{ file_id: string }>(INSERT_OK, [
    tenant,
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
    // re-export conflicts (docs/reports.md#re-export-conflicts): null when not compared
    report.conflicting_points ?? null,
  ]);
  if (ins.rows.length > 0) return Number(ins.rows[0].file_id);
  // an 'ok' row of the same bytes is never overwritten: another process committed them meanwhile
  const held = await client.query<{ path: string; run_id: string | null }>(
    'SELECT path, run_id FROM core.files WHERE tenant = $1 AND sha256 = $2',
    [tenant, agg.sha256],
  );
  const row = held.rows.at(0);
  throw new AlreadyCommittedError(
    agg.sha256,
    row ? { path: row.path, sameRun: row.run_id !== null && row.run_id === input.runId } : null,
  );
}

/** The device row and its channels: once per run and layout, not once per file. */
export async function upsertDevice(client: ClientBase, tenant: string, header: FileHeader): Promise<void> {
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
    `INSERT INTO core.channels (tenant, device_master_sn, channel_id, channel_label, channel_name, channel_unit,
       device_sn, device_type)
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

const INSERT_ERROR = `INSERT INTO core.files (tenant, campaign, device_master_sn, path, sha256, size, export_time,
    status, rows, points, invalid_timestamps, invalid_values, truncated_rows, error, run_id)
  VALUES ($1,$2,$3,$4,$5,$6,$7,'error',$8,$9,$10,$11,$12,$13,$14)
  ON CONFLICT (tenant, sha256) DO UPDATE SET path = EXCLUDED.path, error = EXCLUDED.error, run_id = EXCLUDED.run_id,
    ingested_at = now()
    WHERE core.files.status = 'error'`;

/**
 * A file that could not be ingested, in the ledger with its cause (the tenant
 * and campaign rows must exist). A later upload of the same bytes replaces the
 * row; an ingested file is never overwritten by a failure.
 */
export async function insertFailureRow(
  pool: Pool,
  tenant: string,
  report: FileReport,
  sha256: string,
  runId: string,
): Promise<void> {
  await pool.query(INSERT_ERROR, [
    tenant,
    report.campaign,
    report.master_sn ?? report.device,
    report.path,
    sha256,
    report.bytes,
    report.export_time ?? null,
    report.rows,
    report.points,
    report.invalid_timestamps.count,
    report.invalid_values.count,
    report.truncated_rows.count,
    report.error ? `${report.error.code}: ${report.error.message}` : null,
    runId,
  ]);
}
