/**
 * The data of bench/grafana-queries.ts: a campaign of `devices` loggers with six channels each
 * (U1–U3 in V, Ch1–Ch3 in W) sampled every `step` seconds for `days` days from 2025-01-06, as the
 * ingest would write it to InfluxDB (same measurement, tags and field keys), and its hourly
 * aggregates, devices, channels and a few findings in PostgreSQL.
 */
import type pg from 'pg';
import { MEASUREMENT } from '../src/influx/series.js';
import { seriesPrefix } from '../src/influx/line-protocol.js';

export interface Shape {
  devices: number;
  days: number;
  step: number;
}

export const START = Date.UTC(2025, 0, 6) / 1000;
const CHANNELS = [
  { label: 'U1', name: 'Ph 1', unit: 'V' },
  { label: 'U2', name: 'Ph 2', unit: 'V' },
  { label: 'U3', name: 'Ph 3', unit: 'V' },
  { label: 'Ch1', name: 'Voie1', unit: 'W' },
  { label: 'Ch2', name: 'Voie2', unit: 'W' },
  { label: 'Ch3', name: 'Voie3', unit: 'W' },
];

export const deviceSn = (i: number): string => `03${String(i).padStart(6, '0')}`;

async function influx(env: Record<string, string>, path: string, params: Record<string, string>, body?: string) {
  const auth = `Basic ${Buffer.from(`${env.INFLUX_USERNAME}:${env.INFLUX_PASSWORD}`).toString('base64')}`;
  const r = await fetch(`${env.INFLUX_URL}${path}?${new URLSearchParams(params)}`, {
    method: 'POST',
    headers: { authorization: auth },
    body,
  });
  if (!r.ok) throw new Error(`InfluxDB ${path}: HTTP ${r.status} ${await r.text()}`);
}

/** The tenant's database again from scratch, the points written in batches of 20,000 lines. */
export async function fillInflux(env: Record<string, string>, tenant: string, campaign: string, s: Shape) {
  await influx(env, '/query', { q: `DROP DATABASE "${tenant}"` });
  await influx(env, '/query', { q: `CREATE DATABASE "${tenant}"` });
  const prefixes: Array<{ prefix: string; unit: string }> = [];
  for (let d = 0; d < s.devices; d++) {
    const sn = deviceSn(d);
    for (const c of CHANNELS) {
      const channelId = `M${sn}_${c.label}`;
      const tags = {
        campaign,
        channel_id: channelId,
        channel_label: c.label,
        channel_name: c.name,
        channel_unit: c.unit,
        device: 'MV2',
        device_master_sn: sn,
        device_sn: sn,
        device_subtype: 'Tri',
        device_type: 'master',
      };
      prefixes.push({ prefix: seriesPrefix(MEASUREMENT, tags, `${channelId}_${c.unit}`), unit: c.unit });
    }
  }
  const steps = (s.days * 86400) / s.step;
  let batch: string[] = [];
  const inFlight: Promise<void>[] = [];
  const flush = async () => {
    const body = batch.join('\n');
    batch = [];
    // a test that restarts InfluxDB meanwhile may leave it without the database: made again, tried again
    const write = () => influx(env, '/write', { db: tenant, precision: 's' }, body);
    inFlight.push(
      write().catch(async () => {
        await influx(env, '/query', { q: `CREATE DATABASE "${tenant}"` });
        await write();
      }),
    );
    if (inFlight.length >= 2) await inFlight.shift();
  };
  for (let k = 0; k < steps; k++) {
    const ts = START + k * s.step;
    for (let i = 0; i < prefixes.length; i++) {
      const v = prefixes[i].unit === 'V' ? 230 + ((i + k) % 7) : 1000 + ((i * 37 + k * 11) % 3000);
      batch.push(`${prefixes[i].prefix}${v} ${ts}`);
      if (batch.length >= 20_000) await flush();
    }
  }
  if (batch.length) await flush();
  await Promise.all(inFlight);
}

/** Tenant, campaign, devices (with their step), channels, a file per device, hourly rows, a gap per 10 devices. */
export async function fillPostgres(pool: pg.Pool, tenant: string, campaign: string, s: Shape) {
  await pool.query("SELECT core.ensure_tenant($1, 'Europe/Paris')", [tenant]);
  await pool.query('INSERT INTO core.campaigns (tenant, campaign) VALUES ($1, $2)', [tenant, campaign]);
  const sns = Array.from({ length: s.devices }, (_, i) => deviceSn(i));
  await pool.query(
    `INSERT INTO core.devices (tenant, device_master_sn, master_type, step_s)
     SELECT $1, sn, 'Tri', $3 FROM unnest($2::text[]) AS sn`,
    [tenant, sns, s.step],
  );
  await pool.query(
    `INSERT INTO core.channels (tenant, device_master_sn, channel_id, channel_label, channel_name, channel_unit,
                                device_sn, device_type)
     SELECT $1, sn, 'M' || sn || '_' || c.label, c.label, c.name, c.unit, sn, 'master'
       FROM unnest($2::text[]) AS sn, jsonb_to_recordset($3::jsonb) AS c(label text, name text, unit text)`,
    [tenant, sns, JSON.stringify(CHANNELS)],
  );
  // one file per device: its time range is the device's span (bi.vw_*_completeness)
  await pool.query(
    `INSERT INTO core.files (tenant, campaign, device_master_sn, path, sha256, status, first_time, last_time)
     SELECT $1, $2, sn, '/bench/' || sn || '.tsv', md5(sn) || md5(sn || 'x'), 'ok', to_timestamp($3::float8),
            to_timestamp($3::float8 + $4::int * 86400 - $5::int)
       FROM unnest($6::text[]) AS sn`,
    [tenant, campaign, START, s.days, s.step, sns],
  );
  const perHour = 3600 / s.step;
  await pool.query(
    `INSERT INTO core.hourly (tenant, campaign, device_master_sn, channel_id, channel_unit, hour, samples, sum_value,
                              min_value, max_value, first_time, first_value, last_time, last_value, energy_wh)
     SELECT c.tenant, $2, c.device_master_sn, c.channel_id, c.channel_unit, h, $4::int, $4::int * v, v, v, h, v,
            h + make_interval(secs => 3600 - $5::int), v, CASE c.channel_unit WHEN 'W' THEN v END
       FROM core.channels c,
            generate_series(to_timestamp($3::float8), to_timestamp($3::float8) + make_interval(days => $6::int) - interval '1 hour',
                            interval '1 hour') AS h,
            LATERAL (SELECT CASE c.channel_unit WHEN 'V' THEN 230.0 ELSE 2000.0 END AS v) x
      WHERE c.tenant = $1`,
    [tenant, campaign, START, perHour, s.step, s.days],
  );
  await pool.query(
    `INSERT INTO core.quality_events (tenant, campaign, device_master_sn, kind, t_start, t_end, measure)
     SELECT $1, $2, sn, 'gap', to_timestamp($3::float8) + interval '1 day', to_timestamp($3::float8) + interval '25 hours',
            $4::float8
       FROM unnest($5::text[]) WITH ORDINALITY AS u(sn, i) WHERE i % 10 = 1`,
    [tenant, campaign, START, perHour, sns],
  );
  // statistics, as a live database has them (autovacuum would analyze these tables within a minute)
  await pool.query('ANALYZE core.files, core.channels, core.devices, core.hourly, core.quality_events');
}
