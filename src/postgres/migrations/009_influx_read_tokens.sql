-- InfluxDB 3 Enterprise read tokens. Unlike the 1.x user and the 2.x
-- v1-compatible authorization, whose passwords are derived from
-- POWERVIEW_TENANT_SECRET and never stored, a 3.x resource token is generated
-- by the server and shown once: provisioning keeps it here, sealed with
-- AES-256-GCM under a key derived from the same secret (src/provision/
-- token-vault.ts), so that `powerview grafana env` can hand it to Grafana. A
-- copy of the database without the secret reveals no token.

CREATE TABLE core.influx_read_tokens (
  tenant text PRIMARY KEY REFERENCES core.tenants (tenant) ON DELETE CASCADE,
  -- the token's name in InfluxDB (pv_login_<x>)
  token_name text NOT NULL,
  -- 'v1.' || base64url(iv || tag || ciphertext), the tenant as associated data
  sealed text NOT NULL CONSTRAINT influx_read_tokens_sealed_format CHECK (sealed ~ '^v1\.[A-Za-z0-9_-]+$'),
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE core.influx_read_tokens IS 'InfluxDB 3 Enterprise read-only resource token per tenant, sealed (AES-256-GCM, key derived from POWERVIEW_TENANT_SECRET)';

-- neither tenants nor BI tools read it: only the ingester (which provisions) and the administrators
REVOKE ALL ON core.influx_read_tokens FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON core.influx_read_tokens TO powerview_ingest;
