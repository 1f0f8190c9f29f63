import type { PoolClient } from 'pg';
import { ErrorCodes } from '../errors.js';
import { withTransaction } from './db.js';
import { MigrationError } from './errors.js';
import type { Migration } from './migrations.js';

/** core.schema_migrations: what `migrate` applied, and the checks made against it before anything else runs. */

export interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

const LEDGER_EXISTS = "SELECT to_regclass('core.schema_migrations') IS NOT NULL AS exists";

/**
 * Schema core and the ledger, created by the connecting role when missing
 * (001_roles.sql hands them to admin_donnees).
 */
export async function bootstrap(client: PoolClient): Promise<void> {
  const r = await client.query<{ exists: boolean }>(LEDGER_EXISTS);
  if (r.rows[0].exists) return;
  await withTransaction(client, async () => {
    await client.query('CREATE SCHEMA IF NOT EXISTS core');
    await client.query(`CREATE TABLE core.schema_migrations (
      version int PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    await client.query(
      `COMMENT ON TABLE core.schema_migrations
         IS 'migrations applied by powerview migrate (src/postgres/migrations/NNN_name.sql)'`,
    );
  });
}

export async function appliedRows(client: PoolClient): Promise<AppliedRow[]> {
  const exists = await client.query<{ exists: boolean }>(LEDGER_EXISTS);
  if (!exists.rows[0].exists) return [];
  const r = await client.query<AppliedRow>(
    'SELECT version, name, checksum FROM core.schema_migrations ORDER BY version',
  );
  return r.rows;
}

/**
 * Every applied version must exist in this build with the same SQL: its
 * checksum, or one an older PowerView recorded for it. The older form is
 * accepted as it is, not rewritten: a database shared with an older build
 * (a rolling upgrade, several checkouts on one development database) keeps
 * what that build expects.
 */
export function checkApplied(migrations: readonly Migration[], applied: readonly AppliedRow[]): void {
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  for (const row of applied) {
    const m = byVersion.get(row.version);
    if (!m) {
      throw new MigrationError(
        ErrorCodes.MIGRATION_UNKNOWN,
        `the database has migration ${row.version} (${row.name}) applied, which this build does not have: ` +
          'it was migrated by a newer PowerView',
      );
    }
    if (m.checksum === row.checksum || m.earlierChecksums.includes(row.checksum)) continue;
    throw new MigrationError(
      ErrorCodes.MIGRATION_CHECKSUM,
      `migration ${m.file} was modified after it was applied (checksum ${m.checksum.slice(0, 12)}…, ` +
        `applied ${row.checksum.slice(0, 12)}…): restore it and put the change in a new migration`,
      { file: m.file },
    );
  }
}
