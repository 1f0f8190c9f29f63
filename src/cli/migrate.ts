import { ErrorCodes, PowerViewError, UsageError } from '../errors.js';
import { environment } from '../config/config.js';
import { describePg, resolvePgConfig } from '../postgres/config.js';
import { createPool } from '../postgres/db.js';
import { MigrationError, toDatabaseError } from '../postgres/errors.js';
import { migrate, type MigrateResult } from '../postgres/migrate.js';

export interface MigrateFlags {
  databaseUrl?: string;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `powerview migrate`: 0 up to date (or a dry run listed what is pending),
 * 1 a migration or the database failed, 2 bad configuration or credentials.
 */
export async function runMigrate(flags: MigrateFlags): Promise<number> {
  const config = resolvePgConfig(flags, environment());
  const database = describePg(config);
  const human = !flags.json && process.stdout.isTTY;
  const pool = createPool(config, { max: 1, applicationName: 'powerview migrate' });
  try {
    const result = await migrate(pool, {
      dryRun: flags.dryRun,
      onApplied: human
        ? (a) => process.stdout.write(`  applied ${a.file} as ${a.ran_as} (${a.duration_ms} ms)\n`)
        : undefined,
    });
    if (human) process.stdout.write(`${summary(database, result, flags.dryRun === true)}\n`);
    else
      process.stdout.write(
        `${JSON.stringify({ database, dry_run: flags.dryRun === true, ok: true, ...result }, null, 2)}\n`,
      );
    return 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const e = err instanceof PowerViewError ? err : toDatabaseError(err, 'migrate');
    if (!human) {
      const m = e instanceof MigrationError ? e : null;
      const sqlState = (e as { sqlState?: string }).sqlState;
      const error = {
        code: e.code,
        message: e.message,
        ...(m?.file ? { file: m.file } : {}),
        ...(m?.line ? { line: m.line } : {}),
        ...(sqlState ? { sql_state: sqlState } : {}),
      };
      process.stdout.write(
        `${JSON.stringify({ database, dry_run: flags.dryRun === true, ok: false, error }, null, 2)}\n`,
      );
    }
    process.stderr.write(`powerview: ${e.code}: ${e.message}\n`);
    return e.code === ErrorCodes.DATABASE_AUTH ? 2 : 1;
  } finally {
    await pool.end().catch(() => {});
  }
}

function summary(database: string, r: MigrateResult, dryRun: boolean): string {
  if (dryRun) {
    if (!r.pending.length) return `${database}: at version ${r.version}, nothing pending`;
    return [
      `${database}: at version ${r.version ?? 'none'}, ${r.pending.length} pending:`,
      ...r.pending.map((p) => `  ${p.file}`),
    ].join('\n');
  }
  if (!r.applied.length) return `${database}: at version ${r.version}, up to date`;
  return `${database}: at version ${r.version}, ${r.applied.length} migration(s) applied`;
}
