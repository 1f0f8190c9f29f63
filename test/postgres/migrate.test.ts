/**
 * `powerview migrate` against the real PostgreSQL of ops/services.sh, one
 * fresh database per test: idempotence (schema dump and roles unchanged by a
 * second run), concurrent migrators, modified / unknown / failing migrations,
 * ownership by admin_donnees, dry runs and the CLI.
 */
import t from 'tap';
import { cpSync, mkdtempSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '../../src/errors.js';
import { MigrationError } from '../../src/postgres/errors.js';
import { defaultMigrationsDir, loadMigrations } from '../../src/postgres/migrations.js';
import { assertMigrated, migrate } from '../../src/postgres/migrate.js';
import { runCli, servicesSkip } from '../support/services.js';
import { schemaDump, testDatabase } from '../support/postgres-db.js';

t.setTimeout(300_000);

const ROLES = [
  'admin_donnees',
  'bi_owner',
  'powerview_ingest',
  'powerview_readers_all',
  'powerview_tenants',
  'lecteur_metabase',
  'lecteur_powerbi',
];

/** attributes and memberships of PowerView's roles */
async function rolesSnapshot(pool: import('pg').Pool): Promise<unknown[]> {
  const r = await pool.query(
    `SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolbypassrls,
            ARRAY(SELECT g.rolname || CASE WHEN m.admin_option THEN '*' ELSE '' END
                    FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                   WHERE m.member = r.oid ORDER BY 1) AS member_of
       FROM pg_roles r WHERE r.rolname = ANY($1) ORDER BY r.rolname`,
    [ROLES],
  );
  return r.rows;
}

function migrationsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pv-migrations-'));
  cpSync(defaultMigrationsDir(), dir, { recursive: true });
  return dir;
}

t.test('migrations against the real PostgreSQL', { skip: servicesSkip }, async (t) => {
  const all = await loadMigrations();

  t.test('a fresh database: every migration applied once; a second run changes nothing', async (t) => {
    const db = await testDatabase(t, 'twice');
    const dry = await migrate(db.pool, { dryRun: true });
    t.same(
      dry.pending.map((p) => p.file),
      all.map((m) => m.file),
      'the dry run lists every migration',
    );
    const core = await db.pool.query("SELECT to_regnamespace('core') AS ns");
    t.equal(core.rows[0].ns, null, 'the dry run created nothing');

    const first = await migrate(db.pool);
    t.same(
      first.applied.map((a) => a.file),
      all.map((m) => m.file),
    );
    t.equal(first.version, all.at(-1)!.version);
    t.equal(first.applied[0].ran_as, 'postgres', '001_roles runs as the connecting superuser');
    t.ok(
      first.applied.slice(1).every((a) => a.ran_as === 'admin_donnees'),
      'the others as admin_donnees',
    );

    const dumpBefore = schemaDump(db.url);
    t.match(dumpBefore, /CREATE POLICY tenant_read ON core\.hourly/, 'the dump holds the schema');
    const rolesBefore = await rolesSnapshot(db.pool);
    const ledgerBefore = (await db.pool.query('SELECT * FROM core.schema_migrations ORDER BY version')).rows;
    const catalogBefore = (await db.pool.query('SELECT * FROM core.datasets_catalog ORDER BY name')).rows;

    const second = await migrate(db.pool);
    t.same(second.applied, [], 'nothing applied the second time');
    t.equal(second.already_applied, all.length);
    t.equal(schemaDump(db.url), dumpBefore, 'pg_dump --schema-only is identical');
    t.same(await rolesSnapshot(db.pool), rolesBefore, 'roles and memberships are identical');
    t.same(
      (await db.pool.query('SELECT * FROM core.schema_migrations ORDER BY version')).rows,
      ledgerBefore,
      'the ledger is identical',
    );
    t.same(
      (await db.pool.query('SELECT * FROM core.datasets_catalog ORDER BY name')).rows,
      catalogBefore,
      'the catalog is identical',
    );
    await assertMigrated(db.pool);

    t.test('every object belongs to admin_donnees, except the bi views (bi_owner)', async (t) => {
      const owners = await db.pool.query<{ kind: string; name: string; owner: string }>(`
        SELECT 'schema' AS kind, nspname AS name, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname IN ('core', 'staging', 'bi')
        UNION ALL
        SELECT c.relkind::text, n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('core', 'staging', 'bi') AND c.relkind IN ('r', 'v', 'S', 'm', 'f', 'p')
        UNION ALL
        SELECT 'function', p.oid::regprocedure::text, pg_get_userbyid(p.proowner)
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname IN ('core', 'staging', 'bi')
        ORDER BY 2`);
      t.ok(owners.rows.length > 20);
      const wrong = owners.rows.filter((o) => o.owner !== (o.kind === 'v' ? 'bi_owner' : 'admin_donnees'));
      t.same(wrong, [], 'no object with another owner');
      const catalog = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM core.datasets_catalog');
      t.ok(catalog.rows[0].n >= 11, 'the BI views (six, four quality) and the report view at least');
      t.equal(owners.rows.filter((o) => o.kind === 'v').length, catalog.rows[0].n, 'one bi view per catalog row');
      t.notOk(
        owners.rows.some((o) => o.name === 'vw_report_quality'),
        'no copy of bi.vw_metabase_quality for the report (it reads that view)',
      );
    });

    t.test('roles: NOLOGIN groups, admin_donnees CREATEROLE, bi_owner subject to RLS', async (t) => {
      const roles = (await rolesSnapshot(db.pool)) as Array<Record<string, unknown>>;
      t.same(
        roles.map((r) => r.rolname),
        [...ROLES].sort(),
      );
      for (const r of roles) {
        t.equal(r.rolcanlogin, false, `${String(r.rolname)} cannot log in`);
        t.equal(r.rolsuper, false, `${String(r.rolname)} is no superuser`);
        t.equal(r.rolbypassrls, false, `${String(r.rolname)} does not bypass RLS`);
      }
      t.equal(roles.find((r) => r.rolname === 'admin_donnees')!.rolcreaterole, true);
      t.same(roles.find((r) => r.rolname === 'lecteur_metabase')!.member_of, ['powerview_readers_all']);
      t.same(roles.find((r) => r.rolname === 'lecteur_powerbi')!.member_of, ['powerview_readers_all']);
    });
  });

  t.test(
    'a non-superuser member of admin_donnees owning the database migrates it; admin_donnees still owns everything',
    async (t) => {
      const db = await testDatabase(t, 'dba');
      await migrate(db.pool); // the cluster's roles exist (a superuser made them once)
      const fresh = await testDatabase(t, 'dba_fresh');
      const dba = await fresh.loginRole(`pv_t${process.pid}_dba`, ['admin_donnees']);
      await fresh.pool.query(`ALTER DATABASE ${fresh.name} OWNER TO ${dba}`);
      const result = await migrate(fresh.poolAs(dba));
      t.equal(result.applied.length, all.length);
      t.same([...new Set(result.applied.map((a) => a.ran_as))], [dba, 'admin_donnees']);
      const others = await fresh.pool.query(`
      SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
       WHERE c.relnamespace IN ('core'::regnamespace, 'staging'::regnamespace, 'bi'::regnamespace)
         AND c.relkind IN ('r', 'v', 'S')
         AND pg_get_userbyid(c.relowner) <> CASE c.relkind WHEN 'v' THEN 'bi_owner' ELSE 'admin_donnees' END`);
      t.same(others.rows, [], 'same owners as with a superuser');
      t.equal(
        schemaDump(fresh.url).replaceAll(fresh.name, 'DB'),
        schemaDump(db.url).replaceAll(db.name, 'DB'),
        'the same schema as a superuser migration',
      );
    },
  );

  t.test('two migrators at once: both succeed, each migration applied exactly once', async (t) => {
    const db = await testDatabase(t, 'concurrent');
    const other = db.poolAs(
      'postgres',
      db.env.DATABASE_URL ? decodeURIComponent(new URL(db.env.DATABASE_URL).password) : '',
    );
    const [a, b] = await Promise.all([migrate(db.pool), migrate(other)]);
    t.equal(a.applied.length + b.applied.length, all.length, 'the migrations were applied once in total');
    t.ok(a.applied.length === 0 || b.applied.length === 0, 'one migrator did all the work, the other found it done');
    const ledger = await db.pool.query('SELECT version FROM core.schema_migrations ORDER BY version');
    t.same(
      ledger.rows.map((r) => r.version),
      all.map((m) => m.version),
    );
    const [c, d] = await Promise.all([migrate(db.pool), migrate(other)]);
    t.same([c.applied.length, d.applied.length], [0, 0], 'a second concurrent pair does nothing');
  });

  t.test('a modified applied migration is refused, naming the file; nothing else is applied', async (t) => {
    const db = await testDatabase(t, 'modified');
    const dir = migrationsCopy();
    await migrate(db.pool, { dir });
    // a statement: a comment edit is no modification (test/postgres/migrate-checksum.test.ts)
    appendFileSync(join(dir, '002_core.sql'), '\nSELECT 1; -- an innocent-looking statement\n');
    writeFileSync(join(dir, '900_later.sql'), 'CREATE TABLE core.later (x int);\n');
    const err = await migrate(db.pool, { dir }).then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(err instanceof MigrationError, 'a MigrationError');
    t.equal((err as MigrationError).code, ErrorCodes.MIGRATION_CHECKSUM);
    t.equal((err as MigrationError).file, '002_core.sql');
    t.match((err as Error).message, /002_core\.sql was modified/);
    const later = await db.pool.query("SELECT to_regclass('core.later') AS r");
    t.equal(later.rows[0].r, null, 'the new migration was not applied');
    const dry = await migrate(db.pool, { dir, dryRun: true }).then(
      () => null,
      (e: unknown) => e,
    );
    t.equal((dry as MigrationError).code, ErrorCodes.MIGRATION_CHECKSUM, 'the dry run refuses too');

    const cli = await runCli(['migrate', '--json', '--database-url', db.url], db.env);
    t.equal(cli.code, 0, 'the unmodified build still finds the database up to date');
  });

  t.test('a migration version the build does not have is refused', async (t) => {
    const db = await testDatabase(t, 'unknown');
    await migrate(db.pool);
    await db.pool.query(
      "INSERT INTO core.schema_migrations (version, name, checksum) VALUES (999, 'from_the_future', 'x')",
    );
    const err = await migrate(db.pool).then(
      () => null,
      (e: unknown) => e,
    );
    t.equal((err as MigrationError).code, ErrorCodes.MIGRATION_UNKNOWN);
    t.match((err as Error).message, /999 \(from_the_future\)/);
  });

  t.test('a failing migration rolls back alone, with file, line and SQLSTATE; earlier ones stay', async (t) => {
    const db = await testDatabase(t, 'failing');
    const dir = migrationsCopy();
    writeFileSync(
      join(dir, '901_broken.sql'),
      'CREATE TABLE core.half_done (x int);\n\nSELECT no_such_column FROM core.tenants;\n',
    );
    const err = await migrate(db.pool, { dir }).then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(err instanceof MigrationError);
    const m = err as MigrationError;
    t.equal(m.code, ErrorCodes.MIGRATION_FAILED);
    t.equal(m.file, '901_broken.sql');
    t.equal(m.line, 3, 'the line of the failing statement');
    t.equal(m.sqlState, '42703');
    const state = await db.pool.query(
      "SELECT max(version) AS v, to_regclass('core.half_done') AS half FROM core.schema_migrations",
    );
    t.equal(state.rows[0].v, all.at(-1)!.version, 'the migrations before it are applied');
    t.equal(state.rows[0].half, null, 'nothing of the failed file remains');

    const cli = await runCli(['migrate', '--json'], db.env, { DATABASE_URL: db.url });
    t.equal(cli.code, 0, 'without the broken file: up to date');
  });

  t.test('unqualified names fail instead of landing in public', async (t) => {
    const db = await testDatabase(t, 'unqualified');
    const dir = migrationsCopy();
    writeFileSync(join(dir, '902_unqualified.sql'), 'CREATE TABLE stray (x int);\n');
    const err = await migrate(db.pool, { dir }).then(
      () => null,
      (e: unknown) => e,
    );
    t.equal((err as MigrationError).code, ErrorCodes.MIGRATION_FAILED);
    t.equal((err as MigrationError).file, '902_unqualified.sql');
  });

  t.test('CLI: exit codes and output', async (t) => {
    const db = await testDatabase(t, 'cli');
    const dry = await runCli(['migrate', '--dry-run', '--json', '--database-url', db.url], db.env);
    t.equal(dry.code, 0, dry.stderr);
    const dryOut = JSON.parse(dry.stdout);
    t.equal(dryOut.dry_run, true);
    t.same(
      dryOut.pending.map((p: { file: string }) => p.file),
      all.map((m) => m.file),
    );
    t.notMatch(dry.stdout, /powerview@|:powerview@/, 'no password in the output');

    const run = await runCli(['migrate'], { ...db.env, DATABASE_URL: db.url });
    t.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    t.equal(out.ok, true);
    t.equal(out.applied.length, all.length);
    t.equal(out.database, `postgres://postgres@127.0.0.1:${new URL(db.url).port}/${db.name}`);

    const again = await runCli(['migrate', '--json'], { ...db.env, DATABASE_URL: db.url });
    t.equal(again.code, 0);
    t.same(JSON.parse(again.stdout).applied, []);

    const badPassword = new URL(db.url);
    badPassword.password = 'not-the-password-xyz';
    const auth = await runCli(['migrate', '--json', '--database-url', badPassword.toString()], db.env);
    t.equal(auth.code, 2, 'wrong credentials: exit 2');
    t.match(auth.stderr, /PV_ERR_DATABASE_AUTH/);
    t.notMatch(auth.stderr + auth.stdout, /not-the-password-xyz/, 'the password is never printed');

    const down = await runCli(
      ['migrate', '--json', '--database-url', 'postgres://postgres:secret-pw@127.0.0.1:1/x'],
      db.env,
    );
    t.equal(down.code, 1, 'unreachable: exit 1');
    t.match(down.stderr, /PV_ERR_DATABASE_UNAVAILABLE/);
    t.notMatch(down.stderr + down.stdout, /secret-pw/);

    const bad = await runCli(['migrate', '--database-url', 'mysql://u:secret-pw@h/x'], db.env);
    t.equal(bad.code, 2, 'a bad URL: exit 2');
    t.match(bad.stderr, /--database-url must be a URL like postgres:/);
    t.notMatch(bad.stderr, /secret-pw/);

    const none = await runCli(
      ['migrate'],
      {},
      { DATABASE_URL: '', PGHOST: '', PGDATABASE: '', PGUSER: '', PGPORT: '', PGPASSWORD: '', PGSSLMODE: '' },
    );
    t.equal(none.code, 2, 'nothing configured: exit 2');
    t.match(none.stderr, /no PostgreSQL configured/);
  });
});
