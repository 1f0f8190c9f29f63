-- Schemas and the core tables (docs/architecture.md#postgresql-output-and-exactly-once).
-- Schema core itself was created by the migration runner together with core.schema_migrations.

COMMENT ON SCHEMA core IS 'PowerView: tenants, devices, channels, files ledger, runs, coverage, hourly aggregates';
CREATE SCHEMA staging;
COMMENT ON SCHEMA staging IS 'PowerView: COPY targets of the ingest, emptied by core.merge_hourly()';
CREATE SCHEMA bi;
COMMENT ON SCHEMA bi IS 'PowerView: views for BI tools (vw_metabase_*, vw_powerbi_*), described in core.datasets_catalog';

-- ------------------------------------------------------------ helpers

CREATE FUNCTION core.is_time_zone(p_zone text) RETURNS boolean
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  AS $$ SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names WHERE name = p_zone) $$;
COMMENT ON FUNCTION core.is_time_zone(text) IS 'true for an IANA zone name this server knows (pg_timezone_names), e.g. Europe/Paris or UTC';

CREATE FUNCTION core.is_safe_name(p_name text) RETURNS boolean
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT p_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' $$;
COMMENT ON FUNCTION core.is_safe_name(text) IS 'the company / campaign name rule of the ingest: letters, digits, _ . -, starting with a letter or digit, at most 63 characters';

-- One expression (no FROM) so that the planner inlines it into the RLS policies.
CREATE FUNCTION core.tenant_role(p_tenant text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$
    SELECT CASE
             WHEN pg_catalog.length('pv_tenant_' || pg_catalog.lower(pg_catalog.translate(p_tenant, '.-', '__'))) <= 63
               THEN 'pv_tenant_' || pg_catalog.lower(pg_catalog.translate(p_tenant, '.-', '__'))
             -- role names stop at 63 bytes: a long tenant keeps 54 characters and a hash of the whole name
             ELSE pg_catalog.left('pv_tenant_' || pg_catalog.lower(pg_catalog.translate(p_tenant, '.-', '__')), 54)
                  || '_' || pg_catalog.left(pg_catalog.md5(p_tenant), 8)
           END
  $$;
COMMENT ON FUNCTION core.tenant_role(text) IS 'the role of a tenant: pv_tenant_ + the name lower-cased, . and - as _ (hashed past 63 bytes)';

-- ------------------------------------------------------------ tables

CREATE TABLE core.tenants (
  tenant text PRIMARY KEY CONSTRAINT tenants_tenant_safe_name CHECK (core.is_safe_name(tenant)),
  time_zone text NOT NULL DEFAULT 'Europe/Paris' CONSTRAINT tenants_time_zone_iana CHECK (core.is_time_zone(time_zone)),
  created_at timestamptz NOT NULL DEFAULT now()
);
-- two tenants must not share a role ('Acme' and 'acme', 'a.b' and 'a-b')
CREATE UNIQUE INDEX tenants_role_key ON core.tenants (core.tenant_role(tenant));
COMMENT ON TABLE core.tenants IS 'one row per company; time_zone (IANA) is the zone of its daily and monthly figures';

CREATE TABLE core.campaigns (
  tenant text NOT NULL REFERENCES core.tenants,
  campaign text NOT NULL CONSTRAINT campaigns_campaign_safe_name CHECK (core.is_safe_name(campaign)),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, campaign)
);

CREATE TABLE core.devices (
  tenant text NOT NULL REFERENCES core.tenants,
  device_master_sn text NOT NULL,
  master_type text,
  layout text,
  layout_channels jsonb,
  first_seen timestamptz,
  last_seen timestamptz,
  PRIMARY KEY (tenant, device_master_sn)
);
COMMENT ON COLUMN core.devices.layout IS 'signature of the last known header layout; a file with another one is flagged (layout drift)';
COMMENT ON COLUMN core.devices.layout_channels IS 'the channel ids of that layout, in column order';

CREATE TABLE core.channels (
  tenant text NOT NULL,
  device_master_sn text NOT NULL,
  channel_id text NOT NULL,
  channel_label text,
  channel_name text,
  channel_unit text,
  device_sn text,
  device_type text,
  PRIMARY KEY (tenant, channel_id),
  FOREIGN KEY (tenant, device_master_sn) REFERENCES core.devices
);
CREATE INDEX channels_device ON core.channels (tenant, device_master_sn);

CREATE TABLE core.runs (
  run_id uuid PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  status text,
  files int,
  points bigint,
  duplicate_rows bigint,
  report jsonb
);

CREATE TABLE core.files (
  file_id bigserial PRIMARY KEY,
  tenant text NOT NULL REFERENCES core.tenants,
  campaign text,
  device_master_sn text,
  path text NOT NULL,
  sha256 text NOT NULL CONSTRAINT files_sha256_hex CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size bigint,
  export_time timestamptz,
  status text NOT NULL CONSTRAINT files_status CHECK (status IN ('ok', 'error', 'forced')),
  rows bigint,
  points bigint,
  duplicate_rows bigint,
  invalid_timestamps bigint,
  invalid_values bigint,
  truncated_rows bigint,
  first_time timestamptz,
  last_time timestamptz,
  layout text,
  layout_drift boolean NOT NULL DEFAULT false,
  error text,
  run_id uuid,
  ingested_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant, sha256)
);
CREATE INDEX files_device ON core.files (tenant, device_master_sn, export_time);
COMMENT ON TABLE core.files IS 'the files ledger: one row per distinct content (sha256) per tenant';
COMMENT ON COLUMN core.files.run_id IS 'core.runs.run_id of the run that ingested it (no foreign key: a run row may be written at its end)';

-- Runs of regular epoch-second timestamps a file brought: t_start, t_start + step, …, t_end (n timestamps).
CREATE TABLE core.coverage (
  tenant text NOT NULL,
  device_master_sn text NOT NULL,
  channel_id text NOT NULL,
  file_id bigint NOT NULL REFERENCES core.files ON DELETE CASCADE,
  t_start bigint NOT NULL,
  step int NOT NULL,
  n int NOT NULL,
  t_end bigint GENERATED ALWAYS AS (t_start + step::bigint * (n - 1)) STORED,
  CONSTRAINT coverage_run CHECK (n >= 1 AND step >= 0 AND (n = 1 OR step > 0))
);
CREATE INDEX coverage_lookup ON core.coverage (tenant, device_master_sn, channel_id, t_end);
CREATE INDEX coverage_file ON core.coverage (file_id);

-- Each file's contribution per channel and UTC hour, so that a file can be
-- taken out again (--force) and its hours rebuilt by core.recompute_hourly().
CREATE TABLE core.file_hourly (
  file_id bigint NOT NULL REFERENCES core.files ON DELETE CASCADE,
  tenant text NOT NULL,
  campaign text,
  device_master_sn text NOT NULL,
  channel_id text NOT NULL,
  channel_unit text,
  hour timestamptz NOT NULL,
  samples bigint NOT NULL,
  sum_value double precision NOT NULL,
  min_value double precision NOT NULL,
  max_value double precision NOT NULL,
  first_time timestamptz NOT NULL,
  first_value double precision NOT NULL,
  last_time timestamptz NOT NULL,
  last_value double precision NOT NULL,
  energy_wh double precision NULL,
  PRIMARY KEY (file_id, channel_id, hour),
  CONSTRAINT file_hourly_hour CHECK (pg_catalog.date_trunc('hour', hour AT TIME ZONE 'UTC') = hour AT TIME ZONE 'UTC'),
  CONSTRAINT file_hourly_values CHECK (samples > 0 AND min_value <= max_value AND first_time <= last_time
    AND first_time >= hour AND last_time < hour + interval '1 hour')
);
CREATE INDEX file_hourly_series ON core.file_hourly (tenant, device_master_sn, channel_id, hour);

CREATE TABLE core.hourly (
  tenant text NOT NULL,
  campaign text,
  device_master_sn text NOT NULL,
  channel_id text NOT NULL,
  channel_unit text,
  hour timestamptz NOT NULL,
  samples bigint NOT NULL,
  sum_value double precision NOT NULL,
  min_value double precision NOT NULL,
  max_value double precision NOT NULL,
  first_time timestamptz NOT NULL,
  first_value double precision NOT NULL,
  last_time timestamptz NOT NULL,
  last_value double precision NOT NULL,
  energy_wh double precision NULL,
  PRIMARY KEY (tenant, device_master_sn, channel_id, hour),
  CONSTRAINT hourly_hour CHECK (pg_catalog.date_trunc('hour', hour AT TIME ZONE 'UTC') = hour AT TIME ZONE 'UTC'),
  CONSTRAINT hourly_values CHECK (samples > 0 AND min_value <= max_value AND first_time <= last_time
    AND first_time >= hour AND last_time < hour + interval '1 hour')
);
CREATE INDEX hourly_tenant_hour ON core.hourly (tenant, hour);
COMMENT ON TABLE core.hourly IS 'per tenant, device, channel and UTC hour: the aggregates of the distinct points of every file (core.file_hourly summed)';
COMMENT ON COLUMN core.hourly.campaign IS 'the campaign of the file that brought the hour''s first sample (a device may change campaign within an hour)';
COMMENT ON COLUMN core.hourly.energy_wh IS 'W channels only (NULL otherwise): energy in Wh, the sum of the files'' contributions';
