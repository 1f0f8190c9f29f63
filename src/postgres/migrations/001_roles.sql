-- migrate:run-as session
--
-- Roles are cluster-wide, so this file runs once per database but meets
-- roles that another database's migration (maybe at this very moment)
-- created: every CREATE ROLE and GRANT checks first, and a concurrent twin
-- (duplicate_object, unique_violation) counts as done.
--
-- It runs as the connecting role (a superuser, or admin_donnees itself):
-- admin_donnees may not exist yet. The migrations after it run as
-- admin_donnees, which therefore owns every object (see docs/postgres.md).

DO $roles$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT * FROM (VALUES
      ('admin_donnees', 'NOLOGIN CREATEROLE'),      -- owns everything, runs migrations, creates tenant roles
      ('bi_owner', 'NOLOGIN'),                       -- owns the bi views: not the table owner, so RLS applies through them
      ('powerview_ingest', 'NOLOGIN'),               -- writes core and staging (grant it to the ingest's LOGIN role)
      ('powerview_readers_all', 'NOLOGIN'),          -- reads every tenant's rows
      ('powerview_tenants', 'NOLOGIN'),              -- every pv_tenant_* role: SELECT on the bi views
      ('lecteur_metabase', 'NOLOGIN'),               -- Metabase: bi.vw_metabase_* only
      ('lecteur_powerbi', 'NOLOGIN')                 -- Power BI: bi.vw_powerbi_* only
    ) AS v(name, attributes)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
      BEGIN
        EXECUTE pg_catalog.format('CREATE ROLE %I %s', r.name, r.attributes);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created meanwhile by a migration of another database
      END;
    END IF;
  END LOOP;

  IF NOT (SELECT rolcreaterole FROM pg_catalog.pg_roles WHERE rolname = 'admin_donnees') THEN
    ALTER ROLE admin_donnees CREATEROLE;
  END IF;

  -- the bi views enforce row-level security only while their owner is subject to it
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'bi_owner' AND (rolsuper OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role bi_owner is SUPERUSER or BYPASSRLS: the bi views would show every tenant to everyone'
      USING HINT = 'ALTER ROLE bi_owner NOSUPERUSER NOBYPASSRLS, then run powerview migrate again';
  END IF;
END
$roles$;

DO $members$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT * FROM (VALUES
      ('powerview_readers_all', 'lecteur_metabase', false),
      ('powerview_readers_all', 'lecteur_powerbi', false),
      ('bi_owner', 'admin_donnees', false),           -- so admin_donnees can hand the views to bi_owner
      ('powerview_tenants', 'admin_donnees', true)    -- ensure_tenant() grants it to each new tenant role
    ) AS v(grp, member, admin)
  LOOP
    IF NOT EXISTS (
      SELECT 1
        FROM pg_catalog.pg_auth_members m
        JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
        JOIN pg_catalog.pg_roles u ON u.oid = m.member
       WHERE g.rolname = r.grp AND u.rolname = r.member AND (m.admin_option OR NOT r.admin)
    ) THEN
      BEGIN
        EXECUTE pg_catalog.format('GRANT %I TO %I%s', r.grp, r.member, CASE WHEN r.admin THEN ' WITH ADMIN OPTION' ELSE '' END);
      EXCEPTION WHEN unique_violation THEN
        NULL; -- granted meanwhile by a migration of another database
      END;
    END IF;
  END LOOP;
END
$members$;

DO $database$
BEGIN
  IF NOT pg_catalog.has_database_privilege('admin_donnees', pg_catalog.current_database(), 'CREATE') THEN
    EXECUTE pg_catalog.format('GRANT CONNECT, CREATE, TEMPORARY ON DATABASE %I TO admin_donnees', pg_catalog.current_database());
  END IF;
  EXECUTE pg_catalog.format(
    'GRANT CONNECT ON DATABASE %I TO bi_owner, powerview_ingest, powerview_readers_all, powerview_tenants, lecteur_metabase, lecteur_powerbi',
    pg_catalog.current_database());
  -- the migration runner created schema core and its ledger as the connecting role
  IF pg_catalog.pg_has_role('admin_donnees', 'MEMBER') THEN
    ALTER SCHEMA core OWNER TO admin_donnees;
    ALTER TABLE core.schema_migrations OWNER TO admin_donnees;
  END IF;
END
$database$;
