-- Data-quality findings computed at ingest (docs/reports.md#quality-rules).
--
-- One row per finding: a gap in a device's series, a clock reset, a re-export
-- that contradicts stored points, a header layout change, an implausible run
-- of values. The checks are incremental: a file re-examines its own window
-- only, and the findings it replaces in that window are deleted in the same
-- transaction as its commit (source = 'file' rows are owned by their file,
-- source = 'window' rows by the device's series: gaps are recomputed around
-- each new file, and a gap a later file fills is closed, not deleted).

CREATE TABLE core.quality_events (
  event_id bigserial PRIMARY KEY,
  tenant text NOT NULL REFERENCES core.tenants,
  campaign text,
  device_master_sn text NOT NULL,
  -- NULL: the finding is about the device or the file, not one channel
  channel_id text,
  kind text NOT NULL CONSTRAINT quality_events_kind CHECK (kind IN (
    'gap', 'clock_reset', 'reexport_conflict', 'layout_change',
    'voltage_out_of_band', 'negative_power', 'stuck_value', 'zero_run')),
  severity text NOT NULL DEFAULT 'warning' CONSTRAINT quality_events_severity CHECK (severity IN ('info', 'warning', 'error')),
  t_start timestamptz NOT NULL,
  t_end timestamptz NOT NULL,
  -- the kind's measure: samples missing (gap), seconds off (clock_reset),
  -- conflicting points (reexport_conflict), samples in the run (the value rules)
  measure double precision,
  detail jsonb NOT NULL DEFAULT '{}' CONSTRAINT quality_events_detail CHECK (pg_catalog.jsonb_typeof(detail) = 'object'),
  -- the file whose ingest found it (NULL for a finding of the series, e.g. a gap between two files)
  file_id bigint REFERENCES core.files ON DELETE CASCADE,
  detected_at timestamptz NOT NULL DEFAULT now(),
  -- a finding a later file made moot (a gap filled); open findings have NULL
  closed_at timestamptz,
  CONSTRAINT quality_events_range CHECK (t_start <= t_end)
);
CREATE INDEX quality_events_device ON core.quality_events (tenant, device_master_sn, t_start);
CREATE INDEX quality_events_file ON core.quality_events (file_id);
COMMENT ON TABLE core.quality_events IS 'data-quality findings: one row per gap, clock reset, re-export conflict, layout change or implausible run (docs/reports.md)';
COMMENT ON COLUMN core.quality_events.measure IS 'gap: samples missing; clock_reset: seconds from the file''s other rows; reexport_conflict: conflicting points; value rules: samples in the run';
COMMENT ON COLUMN core.quality_events.closed_at IS 'when a later file made the finding moot (a gap it filled); NULL while open';

-- Thresholds per tenant: a row overrides the default of one rule parameter
-- (docs/reports.md lists the parameters and their defaults).
CREATE TABLE core.quality_thresholds (
  tenant text NOT NULL REFERENCES core.tenants ON DELETE CASCADE,
  parameter text NOT NULL,
  value double precision NOT NULL,
  PRIMARY KEY (tenant, parameter)
);
COMMENT ON TABLE core.quality_thresholds IS 'per-tenant overrides of the quality rules'' thresholds (parameter names in docs/reports.md)';

ALTER TABLE core.files ADD COLUMN conflicting_points bigint;
COMMENT ON COLUMN core.files.conflicting_points IS 'points the file brought for a (channel, time) already held with a different value';

-- the sampling step of a device, derived from its files (the most common step of its coverage)
ALTER TABLE core.devices ADD COLUMN step_s int;
COMMENT ON COLUMN core.devices.step_s IS 'sampling step in seconds, the most common step of its files (gaps and completeness are measured against it)';

DO $rls$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['quality_events', 'quality_thresholds'] LOOP
    EXECUTE pg_catalog.format('ALTER TABLE core.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('CREATE POLICY ingest_all ON core.%I FOR ALL TO powerview_ingest USING (true) WITH CHECK (true)', t);
    EXECUTE pg_catalog.format(
      'CREATE POLICY tenant_read ON core.%I FOR SELECT TO PUBLIC USING ('
      '(SELECT core.sees_all_tenants()) OR core.tenant_role(tenant) = ANY ((SELECT core.my_tenant_roles())::text[]))', t);
  END LOOP;
END
$rls$;

GRANT SELECT, INSERT, UPDATE, DELETE ON core.quality_events, core.quality_thresholds TO powerview_ingest;
GRANT USAGE, SELECT ON SEQUENCE core.quality_events_event_id_seq TO powerview_ingest;
GRANT SELECT ON core.quality_events, core.files, core.devices TO bi_owner;
