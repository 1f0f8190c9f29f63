-- What `powerview report` reads as the tenant's own login (docs/reports.md#reports) besides the hourly views:
-- the tenant's zone and each device's sampling step, and the quality findings. Tenant logins have no grant on
-- core (005_bi_views.sql): these views, owned by bi_owner, apply core's row-level security with current_user =
-- the reader, like the other bi views. Readers: the tenant roles only (the BI tools have their own views).

GRANT SELECT ON core.coverage TO bi_owner;

CREATE VIEW bi.vw_report_devices AS
SELECT d.tenant,
       t.time_zone,
       d.device_master_sn,
       d.master_type,
       -- the step the ingest recorded, else the most common step of the device's coverage runs
       COALESCE(d.step_s, (
         SELECT pg_catalog.mode() WITHIN GROUP (ORDER BY c.step)
           FROM core.coverage c
          WHERE c.tenant = d.tenant AND c.device_master_sn = d.device_master_sn AND c.n > 1
       )) AS step_s
  FROM core.devices d
  JOIN core.tenants t ON t.tenant = d.tenant;

CREATE VIEW bi.vw_report_quality AS
SELECT q.tenant,
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
       q.closed_at
  FROM core.quality_events q
  LEFT JOIN core.files f ON f.file_id = q.file_id;

ALTER VIEW bi.vw_report_devices OWNER TO bi_owner;
ALTER VIEW bi.vw_report_quality OWNER TO bi_owner;
GRANT SELECT ON bi.vw_report_devices, bi.vw_report_quality TO powerview_tenants;

INSERT INTO core.datasets_catalog (name, schema_name, description, columns, grain, time_zone, refresh, owner_role, reader_roles)
VALUES
('vw_report_devices', 'bi',
 'Each device of the tenant with the tenant''s time zone and the device''s sampling step: what `powerview report` needs to cut local days and measure completeness.',
 '[
   {"name": "tenant", "type": "text", "unit": null, "description": "company (the first folder under the data root)"},
   {"name": "time_zone", "type": "text", "unit": null, "description": "the tenant''s IANA time zone (core.tenants.time_zone): the zone of its daily figures"},
   {"name": "device_master_sn", "type": "text", "unit": null, "description": "serial number of the logger (MV2 master) as its file header states it"},
   {"name": "master_type", "type": "text", "unit": null, "description": "the master''s type from its file header (Tri, Mono)"},
   {"name": "step_s", "type": "integer", "unit": "s", "description": "sampling step: the one the ingest recorded, else the most common step of the device''s coverage runs; NULL when unknown"}
 ]'::jsonb,
 'one row per tenant and device',
 'not applicable (no time column)',
 'live view over core.devices, core.tenants and core.coverage',
 'bi_owner', ARRAY['powerview_tenants']),
('vw_report_quality', 'bi',
 'The data-quality findings of the tenant''s devices (core.quality_events) with the name of the file that brought each: gaps, clock resets, re-export conflicts, layout changes, implausible values.',
 '[
   {"name": "tenant", "type": "text", "unit": null, "description": "company (the first folder under the data root)"},
   {"name": "campaign", "type": "text", "unit": null, "description": "campaign of the file that brought the finding, NULL for a finding of the series"},
   {"name": "device_master_sn", "type": "text", "unit": null, "description": "serial number of the logger (MV2 master)"},
   {"name": "channel_id", "type": "text", "unit": null, "description": "the channel concerned, NULL when the finding is about the device or the file"},
   {"name": "kind", "type": "text", "unit": null, "description": "gap, clock_reset, reexport_conflict, layout_change, voltage_out_of_band, negative_power, stuck_value or zero_run"},
   {"name": "severity", "type": "text", "unit": null, "description": "info, warning or error"},
   {"name": "t_start", "type": "timestamp with time zone", "unit": null, "description": "start of the time range the finding covers"},
   {"name": "t_end", "type": "timestamp with time zone", "unit": null, "description": "end of the time range the finding covers (inclusive)"},
   {"name": "measure", "type": "double precision", "unit": null, "description": "the kind''s measure: samples missing (gap), seconds off (clock_reset), conflicting points, samples in the run"},
   {"name": "detail", "type": "jsonb", "unit": null, "description": "the kind''s details (thresholds, examples, both layouts)"},
   {"name": "file_path", "type": "text", "unit": null, "description": "path of the file whose ingest found it, NULL for a finding of the series"},
   {"name": "detected_at", "type": "timestamp with time zone", "unit": null, "description": "when the finding was recorded"},
   {"name": "closed_at", "type": "timestamp with time zone", "unit": null, "description": "when a later file made it moot (a gap filled); NULL while open"}
 ]'::jsonb,
 'one row per finding',
 'UTC (timestamptz)',
 'live view over core.quality_events: a file''s findings appear when its transaction commits',
 'bi_owner', ARRAY['powerview_tenants']);
