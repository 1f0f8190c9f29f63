-- core.datasets_catalog: one row per exposed view, the source of
-- docs/datasets/*.md (`powerview datasets docs`). A migration that adds or
-- changes a view updates its row here; a test checks that every bi view has a
-- row and that the columns listed are the view's columns, in order, with
-- their types.

CREATE TABLE core.datasets_catalog (
  name text PRIMARY KEY,
  schema_name text NOT NULL,
  description text NOT NULL,
  columns jsonb NOT NULL CONSTRAINT datasets_catalog_columns CHECK (pg_catalog.jsonb_typeof(columns) = 'array'),
  grain text NOT NULL,
  time_zone text NOT NULL,
  refresh text NOT NULL,
  owner_role text NOT NULL,
  reader_roles text[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE core.datasets_catalog IS 'one row per exposed dataset (bi view): what it holds, its columns (name, type, unit, description), grain, time zone, refresh, owner and readers';
COMMENT ON COLUMN core.datasets_catalog.owner_role IS 'the role owning the view (its privileges and row-level security apply when it is read)';
COMMENT ON COLUMN core.datasets_catalog.reader_roles IS 'the roles granted SELECT on the view (members of those roles read it)';
GRANT SELECT ON core.datasets_catalog TO powerview_ingest;

INSERT INTO core.datasets_catalog (name, schema_name, description, columns, grain, time_zone, refresh, owner_role, reader_roles)
WITH tools (prefix, tool, reader) AS (
  VALUES ('metabase', 'Metabase', 'lecteur_metabase'), ('powerbi', 'Power BI', 'lecteur_powerbi')
),
head (cols) AS (
  SELECT '[
    {"name": "tenant", "type": "text", "unit": null, "description": "company (the first folder under the data root)"},
    {"name": "campaign", "type": "text", "unit": null, "description": "measurement campaign (the second folder); for an hour brought by several files, the campaign of the file holding its first sample"},
    {"name": "device_master_sn", "type": "text", "unit": null, "description": "serial number of the logger (MV2 master) as its file header states it"},
    {"name": "channel_id", "type": "text", "unit": null, "description": "channel identity as in InfluxDB and Grafana: `M<master>_<label>` or `M<master>_S<slave>_<label>`"},
    {"name": "channel_label", "type": "text", "unit": null, "description": "U1, U2, U3 (voltages of a master), Ch1, Ch2, …; NULL when the channel is not in `core.channels`"},
    {"name": "channel_name", "type": "text", "unit": null, "description": "the column name in the logger file without its unit, e.g. `Ph 1`"}
  ]'::jsonb
)
SELECT 'vw_' || prefix || '_channel_hourly', 'bi',
       'Hourly aggregates per channel for ' || tool || ': count, sum, average, minimum, maximum, first and last value of the distinct points of every ingested file in each UTC hour, and the energy of power (W) channels. A point repeated by overlapping re-exports counts once.',
       (SELECT cols FROM head) || '[
         {"name": "channel_unit", "type": "text", "unit": null, "description": "unit of the values: V, A, W, …"},
         {"name": "device_sn", "type": "text", "unit": null, "description": "serial number of the device measuring the channel (the master or a slave)"},
         {"name": "device_type", "type": "text", "unit": null, "description": "master or slave"},
         {"name": "hour", "type": "timestamp with time zone", "unit": null, "description": "start of the UTC hour [hour, hour + 1 h)"},
         {"name": "samples", "type": "bigint", "unit": "count", "description": "number of distinct timestamps with a valid value in the hour"},
         {"name": "sum_value", "type": "double precision", "unit": "channel_unit", "description": "sum of the values"},
         {"name": "avg_value", "type": "double precision", "unit": "channel_unit", "description": "`sum_value` / `samples` (each sample weighs the same, whatever the interval)"},
         {"name": "min_value", "type": "double precision", "unit": "channel_unit", "description": "smallest value"},
         {"name": "max_value", "type": "double precision", "unit": "channel_unit", "description": "largest value"},
         {"name": "first_time", "type": "timestamp with time zone", "unit": null, "description": "time of the first sample in the hour"},
         {"name": "first_value", "type": "double precision", "unit": "channel_unit", "description": "value at first_time"},
         {"name": "last_time", "type": "timestamp with time zone", "unit": null, "description": "time of the last sample in the hour"},
         {"name": "last_value", "type": "double precision", "unit": "channel_unit", "description": "value at last_time"},
         {"name": "energy_wh", "type": "double precision", "unit": "Wh", "description": "energy of a power (W) channel in the hour by the ingest''s convention (docs/postgres.md); NULL for other units"}
       ]'::jsonb,
       'one row per tenant, device, channel and UTC hour with at least one sample',
       'UTC (hour is a timestamptz; BI tools show it in their own zone)',
       'live view over core.hourly: an ingested file''s hours appear when its transaction commits',
       'bi_owner', ARRAY[reader, 'powerview_tenants']
  FROM tools
UNION ALL
SELECT 'vw_' || prefix || '_energy_' || grain, 'bi',
       'Energy per ' || CASE grain WHEN 'daily' THEN 'day' ELSE 'month' END || ' of each power (W) channel for ' || tool
         || ', in the tenant''s time zone (core.tenants.time_zone): the hourly energies summed over the local '
         || CASE grain WHEN 'daily' THEN 'day' ELSE 'month' END || '. An hour belongs to the local '
         || CASE grain WHEN 'daily' THEN 'day' ELSE 'month' END || ' in which it starts.',
       (SELECT cols FROM head) || pg_catalog.jsonb_build_array(
         pg_catalog.jsonb_build_object('name', 'time_zone', 'type', 'text', 'unit', NULL, 'description', 'the tenant''s IANA time zone the ' || CASE grain WHEN 'daily' THEN 'days' ELSE 'months' END || ' are taken in'),
         CASE grain
           WHEN 'daily' THEN pg_catalog.jsonb_build_object('name', 'day', 'type', 'date', 'unit', NULL, 'description', 'local calendar day')
           ELSE pg_catalog.jsonb_build_object('name', 'month', 'type', 'date', 'unit', NULL, 'description', 'first day of the local calendar month')
         END,
         pg_catalog.jsonb_build_object('name', 'hours', 'type', 'bigint', 'unit', 'count', 'description', 'number of UTC hours with data in the period (23, 24 or 25 for a complete day around clock changes)'),
         pg_catalog.jsonb_build_object('name', 'samples', 'type', 'bigint', 'unit', 'count', 'description', 'number of samples in the period'),
         pg_catalog.jsonb_build_object('name', 'energy_wh', 'type', 'double precision', 'unit', 'Wh', 'description', 'energy in the period'),
         pg_catalog.jsonb_build_object('name', 'energy_kwh', 'type', 'double precision', 'unit', 'kWh', 'description', '`energy_wh` / 1000')
       ),
       'one row per tenant, device, channel (W only) and local ' || CASE grain WHEN 'daily' THEN 'day' ELSE 'month' END || ' with data',
       'the tenant''s time zone (core.tenants.time_zone, default Europe/Paris)',
       'live view over core.hourly, aggregated when queried',
       'bi_owner', ARRAY[reader, 'powerview_tenants']
  FROM tools CROSS JOIN (VALUES ('daily'), ('monthly')) AS g(grain);
