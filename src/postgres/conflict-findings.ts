import type { ClientBase } from 'pg';
import { conflictFinding } from '../model/conflicts.js';
import { tenantOf, type CommitInput } from './commit-types.js';

/**
 * One `reexport_conflict` finding per committed file with conflicts
 * (docs/reports.md#re-export-conflicts), in the file's commit transaction:
 * measure = conflicting points, detail = the largest difference and the
 * first examples. Owned by its file (deleted with it: --force).
 */
export async function insertConflictFindings(
  client: ClientBase,
  ids: readonly number[],
  inputs: readonly CommitInput[],
): Promise<number> {
  const rows: unknown[][] = [];
  inputs.forEach((input, k) => {
    const f = conflictFinding(input.agg.conflicts, input.layoutDrift);
    if (!f) return;
    rows.push([
      tenantOf(input),
      input.report.campaign,
      input.agg.header.masterSn,
      f.channelId,
      f.kind,
      f.severity,
      new Date(f.tStart * 1000).toISOString(),
      new Date(f.tEnd * 1000).toISOString(),
      f.measure,
      JSON.stringify(f.detail),
      ids[k],
    ]);
  });
  if (rows.length === 0) return 0;
  const col = (i: number) => rows.map((r) => r[i]);
  await client.query(
    `INSERT INTO core.quality_events (tenant, campaign, device_master_sn, channel_id, kind, severity, t_start, t_end,
       measure, detail, file_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
       $7::timestamptz[], $8::timestamptz[], $9::float8[], $10::jsonb[], $11::bigint[])`,
    Array.from({ length: 11 }, (_, i) => col(i)),
  );
  return rows.length;
}
