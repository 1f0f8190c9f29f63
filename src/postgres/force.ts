import type { ClientBase } from 'pg';

/**
 * `--force`: removes an earlier ingest of the same bytes inside the commit
 * that replaces it, and rebuilds the hours it touched from the other files
 * (core.recompute_hourly), so the new partials merge into hours without it.
 */
export async function removeFile(client: ClientBase, fileId: number): Promise<void> {
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
