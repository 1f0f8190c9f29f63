import type { Pool, PoolClient } from 'pg';
import { ErrorCodes } from '../errors.js';
import { DatabaseError, MigrationError, toDatabaseError } from './errors.js';
import { withTransaction } from './db.js';
import { appliedRows, bootstrap, checkApplied, type AppliedRow } from './migration-ledger.js';
import { lineOf, loadMigrations, type Migration } from './migrations.js';

/** Key of the session advisory lock that serialises migrators of one database. */
export const MIGRATION_LOCK_KEY = 0x5057_4d49_4752n; // "PWMIGR"

/** The role that owns PowerView's objects. */
export const OWNER_ROLE = 'admin_donnees';

export interface MigrateOptions {
  /** Folder of NNN_name.sql files. Default: src/postgres/migrations of this project. */
  dir?: string;
  /** List what would be applied; change nothing, take no lock. Default: false. */
  dryRun?: boolean;
  /** Called after each migration commits. */
  onApplied?: (applied: AppliedMigration) => void;
}

export interface MigrationInfo {
  version: number;
  name: string;
  file: string;
  checksum: string;
}

export interface AppliedMigration extends MigrationInfo {
  /** The role the migration's statements ran as. */
  ran_as: string;
  duration_ms: number;
}

export interface MigrateResult {
  /** Applied by this call, in order (empty for a dry run). */
  applied: AppliedMigration[];
  /** Still to apply: for a dry run, what a real run would apply; else empty. */
  pending: MigrationInfo[];
  /** Versions that were already applied before this call. */
  already_applied: number;
  /** Highest applied version after this call (before it, for a dry run); null for an empty database. */
  version: number | null;
}

const info = (m: Migration): MigrationInfo => ({
  version: m.version,
  name: m.name,
  file: m.file,
  checksum: m.checksum,
});

/**
 * Applies the pending migrations, each in its own transaction, recorded in
 * core.schema_migrations. Safe to run concurrently (a session advisory lock
 * serialises migrators of a database; the second finds nothing to do) and
 * to repeat (applied versions are skipped). Before anything is applied, every
 * applied version must still exist with the same checksum (comments aside:
 * migration-checksum.ts); one recorded by an older PowerView is accepted.
 */
export async function migrate(pool: Pool, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = await loadMigrations(options.dir);
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw toDatabaseError(err, 'connect');
  }
  let broken: Error | undefined;
  let locked = false;
  try {
    if (options.dryRun) {
      const applied = await appliedRows(client);
      checkApplied(migrations, applied);
      const done = new Set(applied.map((r) => r.version));
      return {
        applied: [],
        pending: migrations.filter((m) => !done.has(m.version)).map(info),
        already_applied: applied.length,
        version: maxVersion(applied),
      };
    }
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    locked = true;
    await bootstrap(client);
    const applied = await appliedRows(client);
    checkApplied(migrations, applied);
    const done = new Set(applied.map((r) => r.version));
    const result: MigrateResult = {
      applied: [],
      pending: [],
      already_applied: applied.length,
      version: maxVersion(applied),
    };
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      const a = await applyOne(client, m);
      result.applied.push(a);
      result.version = m.version;
      options.onApplied?.(a);
    }
    return result;
  } catch (err) {
    if (!(err instanceof MigrationError) && isConnectionError(err)) broken = err as Error;
    throw err instanceof MigrationError ? err : toDatabaseError(err, 'migrate');
  } finally {
    if (locked && !broken)
      await client
        .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()])
        .catch((e: unknown) => (broken = e as Error));
    client.release(broken);
  }
}

const maxVersion = (rows: AppliedRow[]): number | null =>
  rows.length ? Math.max(...rows.map((r) => r.version)) : null;

async function applyOne(client: PoolClient, m: Migration): Promise<AppliedMigration> {
  const t0 = performance.now();
  try {
    const ranAs = await withTransaction(client, async () => {
      // names in migrations are schema-qualified; pg_catalog only, so an unqualified one fails
      // instead of landing in public
      await client.query("SET LOCAL search_path = pg_catalog; SET LOCAL client_min_messages = 'warning'");
      const as = await runAs(client, m);
      try {
        await client.query(m.sql);
      } catch (err) {
        throw migrationFailure(m, err);
      }
      await client.query('INSERT INTO core.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        m.checksum,
      ]);
      return as;
    });
    return { ...info(m), ran_as: ranAs, duration_ms: Math.round(performance.now() - t0) };
  } catch (err) {
    if (err instanceof MigrationError) throw err;
    const db = toDatabaseError(err, `migration ${m.file}`);
    throw new MigrationError(ErrorCodes.MIGRATION_FAILED, db.message, {
      file: m.file,
      sqlState: db.sqlState,
      cause: err,
    });
  }
}

/** Switches the transaction to the owner role when the migration and the session allow it; the role it runs as. */
async function runAs(client: PoolClient, m: Migration): Promise<string> {
  if (m.runAs === 'owner' && (await canBecomeOwner(client))) {
    await client.query(`SET LOCAL ROLE ${OWNER_ROLE}`);
    return OWNER_ROLE;
  }
  return (await client.query<{ u: string }>('SELECT current_user AS u')).rows[0].u;
}

async function canBecomeOwner(client: PoolClient): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles
                     WHERE rolname = $1 AND pg_catalog.pg_has_role(current_user, oid, 'MEMBER')) AS ok`,
    [OWNER_ROLE],
  );
  return r.rows[0].ok;
}

function migrationFailure(m: Migration, err: unknown): MigrationError {
  const e = err as {
    message?: string;
    code?: string;
    position?: string;
    where?: string;
    detail?: string;
    hint?: string;
  };
  const line = e.position ? lineOf(m.sql, Number(e.position)) : undefined;
  const parts = [`migration ${m.file}${line ? ` line ${line}` : ''}: ${e.message ?? String(err)}`];
  if (e.detail) parts.push(`detail: ${e.detail}`);
  if (e.hint) parts.push(`hint: ${e.hint}`);
  if (e.where) parts.push(`context: ${e.where.split('\n')[0]}`);
  if (e.code) parts.push(`SQLSTATE ${e.code}`);
  return new MigrationError(ErrorCodes.MIGRATION_FAILED, parts.join('; '), {
    file: m.file,
    line,
    sqlState: e.code,
    cause: err,
  });
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string } | null | undefined)?.code;
  return !code || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith('08') || code.startsWith('57P');
}

/**
 * Throws PV_ERR_NOT_MIGRATED unless every migration of this build is applied
 * (and none was modified): for commands that need the schema (ingest, datasets).
 */
export async function assertMigrated(pool: Pool, dir?: string): Promise<void> {
  const result = await migrate(pool, { dir, dryRun: true });
  if (result.pending.length) {
    throw new DatabaseError(
      ErrorCodes.NOT_MIGRATED,
      `the database lacks ${result.pending.length} migration(s) ` +
        `(${result.pending.map((p) => p.file).join(', ')}): run powerview migrate`,
    );
  }
}
