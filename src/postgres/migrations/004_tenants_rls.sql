-- Tenant roles, row-level security and the ingest role's grants.
--
-- Who sees which rows is decided on current_user, never on the role a policy
-- is attached to: inside a plain (not security_invoker) view the table
-- privileges and policies are those of the view owner (bi_owner), but
-- current_user is still the user running the query. So one SELECT policy
-- TO PUBLIC serves both direct reads and reads through the bi views:
--   * members of powerview_readers_all or powerview_ingest see every tenant;
--   * a member of pv_tenant_<x> sees the rows of tenant x;
--   * anyone else sees nothing.
-- The table owner (admin_donnees) is not subject to RLS; bi_owner is.

-- true when the current user reads every tenant
CREATE FUNCTION core.sees_all_tenants() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT pg_catalog.pg_has_role(current_user, 'powerview_readers_all', 'USAGE')
        OR pg_catalog.pg_has_role(current_user, 'powerview_ingest', 'USAGE')
  $$;
COMMENT ON FUNCTION core.sees_all_tenants() IS 'RLS: the current user is a member of powerview_readers_all or powerview_ingest';

-- the pv_tenant_* roles whose privileges the current user has
CREATE FUNCTION core.my_tenant_roles() RETURNS text[]
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT COALESCE(pg_catalog.array_agg(r.rolname::text ORDER BY r.rolname), '{}')
      FROM pg_catalog.pg_roles r
     WHERE r.rolname LIKE 'pv\_tenant\_%'
       AND pg_catalog.pg_has_role(current_user, r.oid, 'USAGE')
  $$;
COMMENT ON FUNCTION core.my_tenant_roles() IS 'RLS: the tenant roles (pv_tenant_*) the current user is a member of';

-- The policies call these as the querying user: grant them explicitly, in
-- case default privileges on this cluster revoke EXECUTE from PUBLIC.
GRANT EXECUTE ON FUNCTION core.sees_all_tenants(), core.my_tenant_roles(), core.tenant_role(text),
  core.is_time_zone(text), core.is_safe_name(text) TO PUBLIC;

DO $rls$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tenants', 'campaigns', 'devices', 'channels', 'files', 'coverage', 'file_hourly', 'hourly'] LOOP
    EXECUTE pg_catalog.format('ALTER TABLE core.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('CREATE POLICY ingest_all ON core.%I FOR ALL TO powerview_ingest USING (true) WITH CHECK (true)', t);
    -- the sub-selects are evaluated once per query (init plans), not per row
    EXECUTE pg_catalog.format(
      'CREATE POLICY tenant_read ON core.%I FOR SELECT TO PUBLIC USING ('
      '(SELECT core.sees_all_tenants()) OR core.tenant_role(tenant) = ANY ((SELECT core.my_tenant_roles())::text[]))', t);
  END LOOP;
END
$rls$;

-- Inserts the tenant (if missing) and creates its role (if missing), member
-- of powerview_tenants. SECURITY DEFINER: runs as its owner, admin_donnees
-- (CREATEROLE, owner of core.tenants), so the ingest role needs neither.
-- An existing tenant keeps its time zone. Returns the role name.
CREATE FUNCTION core.ensure_tenant(p_tenant text, p_time_zone text DEFAULT 'Europe/Paris') RETURNS text
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_role text;
  v_other text;
BEGIN
  IF p_tenant IS NULL OR NOT core.is_safe_name(p_tenant) THEN
    RAISE EXCEPTION 'tenant name % is not a safe identifier: use letters, digits, ''_'', ''-'' or ''.'', starting with a letter or digit, at most 63 characters',
      COALESCE(quote_literal(p_tenant), 'NULL') USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_time_zone IS NULL OR NOT core.is_time_zone(p_time_zone) THEN
    RAISE EXCEPTION 'unknown time zone %: use an IANA name such as Europe/Paris', COALESCE(quote_literal(p_time_zone), 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v_role := core.tenant_role(p_tenant);

  SELECT tenant INTO v_other FROM core.tenants WHERE core.tenant_role(tenant) = v_role AND tenant <> p_tenant;
  IF FOUND THEN
    RAISE EXCEPTION 'tenant % would share role % with tenant %', quote_literal(p_tenant), v_role, quote_literal(v_other)
      USING ERRCODE = 'unique_violation';
  END IF;
  INSERT INTO core.tenants (tenant, time_zone) VALUES (p_tenant, p_time_zone) ON CONFLICT (tenant) DO NOTHING;

  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
    BEGIN
      EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL; -- created meanwhile (another ingest, another database)
    END;
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM pg_auth_members m
      JOIN pg_roles g ON g.oid = m.roleid
      JOIN pg_roles u ON u.oid = m.member
     WHERE g.rolname = 'powerview_tenants' AND u.rolname = v_role
  ) THEN
    BEGIN
      EXECUTE format('GRANT powerview_tenants TO %I', v_role);
    EXCEPTION WHEN unique_violation THEN
      NULL;
    END;
  END IF;
  RETURN v_role;
END
$$;
COMMENT ON FUNCTION core.ensure_tenant(text, text) IS 'inserts the tenant and creates its role pv_tenant_<name> when missing; returns the role name';

REVOKE ALL ON FUNCTION core.ensure_tenant(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION core.merge_hourly(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION core.recompute_hourly(text, text, text[], timestamptz[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION core.ensure_tenant(text, text), core.merge_hourly(bigint),
  core.recompute_hourly(text, text, text[], timestamptz[]) TO powerview_ingest;

-- the ingest role: reads and writes core and staging, never DDL
GRANT USAGE ON SCHEMA core, staging TO powerview_ingest;
GRANT SELECT, INSERT, UPDATE, DELETE ON core.tenants, core.campaigns, core.devices, core.channels, core.runs,
  core.files, core.coverage, core.file_hourly, core.hourly TO powerview_ingest;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON staging.hourly_partials TO powerview_ingest;
GRANT USAGE ON SEQUENCE core.files_file_id_seq TO powerview_ingest;
GRANT SELECT ON core.schema_migrations TO powerview_ingest;
