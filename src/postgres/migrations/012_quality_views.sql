-- BI views of the data-quality findings and of each device's completeness per local day
-- (docs/postgres.md#bi-views), one per tool like 005_bi_views.sql: owned by bi_owner, so that reading
-- them applies core's row-level security with current_user = the reader.
--
-- Completeness: a device is expected to bring one sample per channel (core.channels) at every point of
-- its sampling grid (its first sample + k × core.devices.step_s) from its first to its last sample in the
-- campaign (its files' time ranges, core.files: a few rows per device);
-- a local day expects the grid points that fall inside it, so the first and the last day of a device
-- count only their covered part, and a day inside the span without any data expects a full day.

GRANT SELECT ON core.quality_events, core.files, core.devices, core.channels, core.hourly, core.tenants TO bi_owner;

DO $views$
DECLARE
  tool record;
BEGIN
  FOR tool IN SELECT * FROM (VALUES ('metabase', 'lecteur_metabase'), ('powerbi', 'lecteur_powerbi')) AS v(prefix, reader) LOOP
    EXECUTE pg_catalog.format($sql$
      CREATE VIEW bi.%I AS
      SELECT q.event_id,
             q.tenant,
             q.campaign,
             q.device_master_sn,
             q.channel_id,
             q.kind,
             q.severity,
             q.t_start,
             q.t_end,
             q.measure,
             q.detail,
             f.path AS file_path,
             q.detected_at,
             q.closed_at,
             q.closed_at IS NULL AS open
        FROM core.quality_events q
        LEFT JOIN core.files f ON f.file_id = q.file_id
    $sql$, 'vw_' || tool.prefix || '_quality');

    EXECUTE pg_catalog.format($sql$
      CREATE VIEW bi.%I AS
      SELECT s.tenant,
             s.campaign,
             s.device_master_sn,
             s.time_zone,
             d.day::date AS day,
             s.channels,
             s.step_s,
             COALESCE(r.samples, 0)::bigint AS samples_received,
             e.expected AS samples_expected,
             COALESCE(r.samples, 0)::double precision / NULLIF(e.expected, 0) AS completeness
        FROM (SELECT f.tenant, f.campaign, f.device_master_sn, t.time_zone, dv.step_s,
                     pg_catalog.min(f.first_time) AS first_time, pg_catalog.max(f.last_time) AS last_time,
                     (SELECT pg_catalog.count(*) FROM core.channels c
                       WHERE c.tenant = f.tenant AND c.device_master_sn = f.device_master_sn) AS channels
                FROM core.files f
                JOIN core.tenants t ON t.tenant = f.tenant
                LEFT JOIN core.devices dv ON dv.tenant = f.tenant AND dv.device_master_sn = f.device_master_sn
               WHERE f.status <> 'error' AND f.device_master_sn IS NOT NULL AND f.first_time IS NOT NULL
               GROUP BY f.tenant, f.campaign, f.device_master_sn, t.time_zone, dv.step_s) s
       CROSS JOIN LATERAL pg_catalog.generate_series(
               pg_catalog.date_trunc('day', s.first_time AT TIME ZONE s.time_zone),
               pg_catalog.date_trunc('day', s.last_time AT TIME ZONE s.time_zone),
               interval '1 day') AS d(day)
       CROSS JOIN LATERAL (
             SELECT d.day AT TIME ZONE s.time_zone AS day_start,
                    (d.day + interval '1 day') AT TIME ZONE s.time_zone AS day_end) l
       CROSS JOIN LATERAL (
             -- the part of the local day inside [first sample, last sample + step)
             SELECT GREATEST(l.day_start, s.first_time) AS from_time,
                    LEAST(l.day_end, s.last_time + pg_catalog.make_interval(secs => s.step_s)) AS to_time) b
       CROSS JOIN LATERAL (
             -- the grid points first + k × step in [from_time, to_time), times the channels
             SELECT CASE WHEN s.step_s > 0 THEN
                      s.channels * (pg_catalog.ceil(EXTRACT(epoch FROM b.to_time - s.first_time) / s.step_s)
                                    - pg_catalog.ceil(EXTRACT(epoch FROM b.from_time - s.first_time) / s.step_s))
                    END::bigint AS expected) e
       -- the hours starting that local day, channel by channel through the hourly key: a day costs its own rows
       CROSS JOIN LATERAL (
             SELECT pg_catalog.sum(h.samples) AS samples
               FROM core.channels c
               JOIN core.hourly h ON h.tenant = c.tenant AND h.device_master_sn = c.device_master_sn
                                 AND h.channel_id = c.channel_id
              WHERE c.tenant = s.tenant AND c.device_master_sn = s.device_master_sn
                AND h.hour >= l.day_start AND h.hour < l.day_end
                AND h.campaign IS NOT DISTINCT FROM s.campaign) r
    $sql$, 'vw_' || tool.prefix || '_completeness');

    EXECUTE pg_catalog.format('ALTER VIEW bi.%I OWNER TO bi_owner', 'vw_' || tool.prefix || '_quality');
    EXECUTE pg_catalog.format('ALTER VIEW bi.%I OWNER TO bi_owner', 'vw_' || tool.prefix || '_completeness');
    EXECUTE pg_catalog.format('GRANT SELECT ON bi.%I, bi.%I TO %I, powerview_tenants',
      'vw_' || tool.prefix || '_quality', 'vw_' || tool.prefix || '_completeness', tool.reader);
  END LOOP;
END
$views$;

INSERT INTO core.datasets_catalog (name, schema_name, description, columns, grain, time_zone, refresh, owner_role, reader_roles)
WITH tools (prefix, tool, reader) AS (
  VALUES ('metabase', 'Metabase', 'lecteur_metabase'), ('powerbi', 'Power BI', 'lecteur_powerbi')
)
SELECT 'vw_' || prefix || '_quality', 'bi',
       'Data-quality findings for ' || tool || ', one row per finding the ingest recorded: gaps in a device''s '
         || 'series, clock resets, re-export conflicts, header layout changes and implausible runs of values '
         || '(docs/reports.md lists the rules and their thresholds).',
       '[
         {"name": "event_id", "type": "bigint", "unit": null, "description": "the finding''s identity (core.quality_events.event_id)"},
         {"name": "tenant", "type": "text", "unit": null, "description": "company (the first folder under the data root)"},
         {"name": "campaign", "type": "text", "unit": null, "description": "measurement campaign of the file or series the finding is about"},
         {"name": "device_master_sn", "type": "text", "unit": null, "description": "serial number of the logger (MV2 master)"},
         {"name": "channel_id", "type": "text", "unit": null, "description": "the channel (`M<master>_<label>`, `M<master>_S<slave>_<label>`); NULL when the finding is about the device or the file"},
         {"name": "kind", "type": "text", "unit": null, "description": "gap, clock_reset, reexport_conflict, layout_change, voltage_out_of_band, negative_power, stuck_value or zero_run"},
         {"name": "severity", "type": "text", "unit": null, "description": "info, warning or error"},
         {"name": "t_start", "type": "timestamp with time zone", "unit": null, "description": "start of the time range the finding covers"},
         {"name": "t_end", "type": "timestamp with time zone", "unit": null, "description": "end of that range (inclusive)"},
         {"name": "measure", "type": "double precision", "unit": "kind", "description": "gap: samples missing; clock_reset: seconds from the file''s other rows; reexport_conflict: conflicting points; the value rules: samples in the run"},
         {"name": "detail", "type": "jsonb", "unit": null, "description": "what else the rule recorded (both layouts, the largest difference, examples, …)"},
         {"name": "file_path", "type": "text", "unit": null, "description": "path of the file whose ingest found it (core.files.path); NULL for a finding of the series, e.g. a gap between two files"},
         {"name": "detected_at", "type": "timestamp with time zone", "unit": null, "description": "when the ingest recorded the finding"},
         {"name": "closed_at", "type": "timestamp with time zone", "unit": null, "description": "when a later file made it moot (a gap it filled); NULL while open"},
         {"name": "open", "type": "boolean", "unit": null, "description": "`closed_at IS NULL`"}
       ]'::jsonb,
       'one row per finding',
       'UTC (timestamptz columns; BI tools show them in their own zone)',
       'live view over core.quality_events: a file''s findings appear when its transaction commits',
       'bi_owner', ARRAY[reader, 'powerview_tenants']
  FROM tools
UNION ALL
SELECT 'vw_' || prefix || '_completeness', 'bi',
       'Completeness of each device per local day for ' || tool || ', in the tenant''s time zone: the samples '
         || 'received (core.hourly) against the samples expected at the device''s sampling step (core.devices.step_s) '
         || 'from its first to its last sample in the campaign (the time ranges of its files in core.files). '
         || 'Expected per day: its channels (core.channels) × the points of '
         || 'the device''s sampling grid (first sample + k × step_s) inside that local day and inside '
         || '[first sample, last sample + step_s), i.e. the seconds of the day the device covers ÷ step_s, so '
         || 'the first and the last day count only their covered part and a day inside the span without any data '
         || 'appears with 0 received. An hour''s samples count for the local day in which the hour starts.',
       '[
         {"name": "tenant", "type": "text", "unit": null, "description": "company (the first folder under the data root)"},
         {"name": "campaign", "type": "text", "unit": null, "description": "measurement campaign (as core.hourly.campaign: the campaign of the file holding each hour''s first sample)"},
         {"name": "device_master_sn", "type": "text", "unit": null, "description": "serial number of the logger (MV2 master)"},
         {"name": "time_zone", "type": "text", "unit": null, "description": "the tenant''s IANA time zone the days are taken in"},
         {"name": "day", "type": "date", "unit": null, "description": "local calendar day, every day from the device''s first to its last sample in the campaign (the first and last timestamps of its files, core.files)"},
         {"name": "channels", "type": "bigint", "unit": "count", "description": "channels of the device (core.channels), whether or not they have data that day"},
         {"name": "step_s", "type": "integer", "unit": "s", "description": "the device''s sampling step (core.devices.step_s); NULL while unknown"},
         {"name": "samples_received", "type": "bigint", "unit": "count", "description": "samples of all its channels in the hours starting that local day (0 for a day without data)"},
         {"name": "samples_expected", "type": "bigint", "unit": "count", "description": "`channels` × the grid points first sample + k × step_s inside the day and inside [first sample, last sample + step_s); NULL while step_s is unknown"},
         {"name": "completeness", "type": "double precision", "unit": "ratio", "description": "`samples_received` / `samples_expected` (1 = complete); NULL when nothing is expected"}
       ]'::jsonb,
       'one row per tenant, campaign, device and local day from its first to its last sample',
       'the tenant''s time zone (core.tenants.time_zone, default Europe/Paris)',
       'live view over core.files, core.channels, core.devices and core.hourly, aggregated when queried (a day reads its own hourly rows only)',
       'bi_owner', ARRAY[reader, 'powerview_tenants']
  FROM tools;
