-- Tenant logins: the LOGIN role a tenant's tools (its Grafana PostgreSQL
-- datasource) connect as. pv_tenant_<x> stays a NOLOGIN group; its login is
-- pv_login_<x>, a member of it and of nothing else, so it reads exactly what
-- the tenant role reads (the bi views, row-level security on current_user:
-- 004_tenants_rls.sql) and can be dropped without touching the tenant.
--
-- The password never travels in clear: the caller sends a SCRAM-SHA-256
-- verifier (what pg_authid stores), computed client-side from the tenant's
-- derived password (POWERVIEW_TENANT_SECRET, docs/postgres.md).

-- 'pv_login_' is one byte shorter than 'pv_tenant_': the login of any tenant role fits in 63 bytes
CREATE FUNCTION core.tenant_login(p_tenant text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT 'pv_login_' || pg_catalog.substr(core.tenant_role(p_tenant), 11) $$;
COMMENT ON FUNCTION core.tenant_login(text) IS 'the LOGIN role of a tenant: pv_login_ + the suffix of its tenant role (core.tenant_role)';
GRANT EXECUTE ON FUNCTION core.tenant_login(text) TO PUBLIC;

-- Creates the tenant's login role when missing (LOGIN, member of the tenant
-- role only) and sets its password from a SCRAM-SHA-256 verifier. The tenant
-- must exist (core.ensure_tenant first). Idempotent. SECURITY DEFINER: runs as
-- admin_donnees (CREATEROLE), so the ingest role needs no role privileges.
CREATE FUNCTION core.ensure_tenant_login(p_tenant text, p_verifier text) RETURNS text
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_role text;
  v_login text;
BEGIN
  IF p_tenant IS NULL OR NOT EXISTS (SELECT 1 FROM core.tenants WHERE tenant = p_tenant) THEN
    RAISE EXCEPTION 'unknown tenant %: run core.ensure_tenant() first', COALESCE(quote_literal(p_tenant), 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- only a verifier, never a clear-text password (it would be stored as given)
  IF p_verifier IS NULL OR p_verifier !~ '^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$' THEN
    RAISE EXCEPTION 'the password must be a SCRAM-SHA-256 verifier (SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v_role := core.tenant_role(p_tenant);
  v_login := core.tenant_login(p_tenant);
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_login) THEN
    BEGIN
      EXECUTE format('CREATE ROLE %I LOGIN', v_login);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL; -- created meanwhile
    END;
  END IF;
  -- INHERIT: the login reads with the tenant role's privileges. (SUPERUSER,
  -- REPLICATION and BYPASSRLS only a superuser may even mention: a role
  -- created here has none of them.)
  EXECUTE format('ALTER ROLE %I LOGIN INHERIT CONNECTION LIMIT 20 PASSWORD %L',
    v_login, p_verifier);
  EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', v_login, '60s');
  IF NOT EXISTS (
    SELECT 1 FROM pg_auth_members m
      JOIN pg_roles g ON g.oid = m.roleid
      JOIN pg_roles u ON u.oid = m.member
     WHERE g.rolname = v_role AND u.rolname = v_login
  ) THEN
    BEGIN
      EXECUTE format('GRANT %I TO %I', v_role, v_login);
    EXCEPTION WHEN unique_violation THEN
      NULL;
    END;
  END IF;
  RETURN v_login;
END
$$;
COMMENT ON FUNCTION core.ensure_tenant_login(text, text) IS 'creates the tenant''s LOGIN role pv_login_<name> (member of its tenant role) when missing and sets its password from a SCRAM-SHA-256 verifier; returns the login name';

REVOKE ALL ON FUNCTION core.ensure_tenant_login(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION core.ensure_tenant_login(text, text) TO powerview_ingest;
