-- Exactly-once across processes: the commit fence. Every commit that adds
-- coverage for a device (tenant, master serial) bumps the device's version in
-- its transaction (the row lock serialises commits of one device across
-- processes). A plan remembers the version it read together with the
-- committed coverage; the commit refuses the plan when a version in between
-- was made by another process (its coverage is not in the plan: the points it
-- holds would be counted twice).

CREATE TABLE core.device_coverage_versions (
  tenant text NOT NULL REFERENCES core.tenants (tenant) ON DELETE CASCADE,
  device_master_sn text NOT NULL,
  version bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, device_master_sn)
);
COMMENT ON TABLE core.device_coverage_versions IS 'per-device coverage version, bumped by every commit: the fence that refuses a plan made against coverage changed since';

-- the ingester's bookkeeping: no tenant or BI tool reads it
REVOKE ALL ON core.device_coverage_versions FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON core.device_coverage_versions TO powerview_ingest;
