/**
 * The statements of the campaign report (docs/reports.md#how-the-numbers-are-computed), run as the tenant's
 * login through the bi views (row-level security applies). Every statement takes the same parameters:
 * $1 tenant, $2 campaign, $3 period start (timestamptz, inclusive), $4 period end (exclusive), $5 the
 * tenant's time zone (a statement that needs no zone still names it, `$5::text IS NOT NULL`: PostgreSQL
 * must know the type of every parameter sent). Rows are ordered with the "C" collation so that the
 * output does not depend on the server's locale, and every floating-point sum is an ordered aggregate
 * (`sum(x ORDER BY hour)`): the order of the additions decides the last bits, and a parallel or
 * re-planned scan must not change them.
 */

/** The hourly view the report reads (bi.vw_metabase_channel_hourly and vw_powerbi_ are the same columns). */
const HOURLY = 'bi.vw_metabase_channel_hourly';

/** The hours of the campaign in the period: an hour belongs to the period when it starts in it. */
const IN_PERIOD = `tenant = $1 AND campaign = $2 AND hour >= $3::timestamptz AND hour < $4::timestamptz`;

/** $1 tenant: the tenant's zone (the first device's row: every row carries it). */
export const TIME_ZONE_SQL = `SELECT time_zone FROM bi.vw_report_devices WHERE tenant = $1 LIMIT 1`;

/**
 * $1 tenant, $2 campaign, $3 first local day or NULL, $4 last local day (inclusive) or NULL, $5 zone:
 * the period, from the local midnight of the first day to the local midnight after the last, each bound
 * defaulting to the campaign's first hour with data and the end of its last.
 */
export const PERIOD_SQL = `
SELECT COALESCE(($3::date)::timestamp AT TIME ZONE $5, min(hour)) AS period_from,
       COALESCE(($4::date + 1)::timestamp AT TIME ZONE $5, max(hour) + interval '1 hour') AS period_to
  FROM ${HOURLY}
 WHERE tenant = $1 AND campaign = $2`;

export const CHANNELS_SQL = `
SELECT device_master_sn, channel_id, channel_label, channel_name, channel_unit,
       sum(samples)::float8 AS samples,
       CASE WHEN channel_unit = 'W' THEN COALESCE(sum(energy_wh ORDER BY hour), 0) / 1000 END AS energy_kwh,
       CASE WHEN channel_unit = 'W' THEN max(max_value) END AS peak_w,
       CASE WHEN channel_unit = 'W' THEN (array_agg(hour ORDER BY max_value DESC, hour))[1] END AS peak_at,
       CASE WHEN channel_unit = 'V' THEN min(min_value) END AS min_v,
       CASE WHEN channel_unit = 'V' THEN sum(sum_value ORDER BY hour) / sum(samples) END AS mean_v,
       CASE WHEN channel_unit = 'V' THEN max(max_value) END AS max_v
  FROM ${HOURLY}
 WHERE ${IN_PERIOD} AND $5::text IS NOT NULL
 GROUP BY device_master_sn, channel_id, channel_label, channel_name, channel_unit
 ORDER BY device_master_sn COLLATE "C", channel_id COLLATE "C", channel_unit COLLATE "C"`;

export const TOTAL_SQL = `
SELECT COALESCE(sum(energy_wh ORDER BY device_master_sn COLLATE "C", channel_id COLLATE "C", hour), 0) / 1000
       AS total_kwh
  FROM ${HOURLY}
 WHERE ${IN_PERIOD} AND channel_unit = 'W' AND $5::text IS NOT NULL`;

/**
 * Per device: channels, samples, first and last sample, and completeness = samples received / expected,
 * expected = channels × the device's sampling steps from --from (else its first sample) to --to (else its
 * last sample + one step). $6, $7: whether --from, --to were given.
 */
export const DEVICES_SQL = `
WITH per AS (
  SELECT device_master_sn, count(DISTINCT channel_id)::int AS channels, sum(samples)::float8 AS samples,
         min(first_time) AS first_time, max(last_time) AS last_time
    FROM ${HOURLY}
   WHERE ${IN_PERIOD} AND $5::text IS NOT NULL
   GROUP BY device_master_sn)
SELECT per.device_master_sn, per.channels, per.first_time, per.last_time,
       per.samples / NULLIF(per.channels * floor(extract(epoch FROM
         (CASE WHEN $7::boolean THEN $4::timestamptz ELSE per.last_time + make_interval(secs => d.step_s) END)
         - (CASE WHEN $6::boolean THEN $3::timestamptz ELSE per.first_time END)) / NULLIF(d.step_s, 0)), 0)
         AS completeness
  FROM per
  LEFT JOIN bi.vw_report_devices d ON d.tenant = $1 AND d.device_master_sn = per.device_master_sn
 ORDER BY per.device_master_sn COLLATE "C"`;

/** Energy per local day (the hour's start in the tenant's zone) of each power (W) channel. */
export const DAILY_SQL = `
SELECT to_char(date_trunc('day', hour AT TIME ZONE $5), 'YYYY-MM-DD') AS day, device_master_sn, channel_id,
       COALESCE(sum(energy_wh ORDER BY hour), 0) / 1000 AS energy_kwh
  FROM ${HOURLY}
 WHERE ${IN_PERIOD} AND channel_unit = 'W'
 GROUP BY 1, 2, 3
 ORDER BY 1, device_master_sn COLLATE "C", channel_id COLLATE "C"`;

export const HOURLY_SQL = `
SELECT hour, device_master_sn, channel_id, channel_unit, samples::float8 AS samples,
       sum_value / samples AS mean, min_value, max_value, energy_wh / 1000 AS energy_kwh
  FROM ${HOURLY}
 WHERE ${IN_PERIOD} AND $5::text IS NOT NULL
 ORDER BY hour, device_master_sn COLLATE "C", channel_id COLLATE "C", channel_unit COLLATE "C"`;

/**
 * Findings overlapping the period, of the campaign or of a device of it (a finding of the series has no
 * campaign); the file by its name only (the server's folders are not the customer's business).
 */
export const QUALITY_SQL = `
SELECT kind, severity, device_master_sn, channel_id, t_start, t_end, measure, detail,
       regexp_replace(file_path, '^.*/', '') AS file, closed_at IS NULL AS open
  FROM bi.vw_metabase_quality
 WHERE tenant = $1 AND $5::text IS NOT NULL
   AND (campaign = $2 OR (campaign IS NULL AND device_master_sn IN (
         SELECT device_master_sn FROM ${HOURLY} WHERE ${IN_PERIOD})))
   AND t_start < $4::timestamptz AND t_end >= $3::timestamptz
 ORDER BY t_start, device_master_sn COLLATE "C", kind COLLATE "C", channel_id COLLATE "C" NULLS FIRST,
          t_end, measure NULLS FIRST, file_path COLLATE "C" NULLS FIRST`;
