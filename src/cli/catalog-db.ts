import { environment } from '../config/config.js';
import { ErrorCodes, PowerViewError, UsageError } from '../errors.js';
import { readCatalog, type GrafanaCatalog } from '../grafana/catalog.js';
import { resolveDashboardsPath } from '../grafana/providers.js';
import { describePg, resolvePgConfig } from '../postgres/config.js';
import { createPool } from '../postgres/db.js';
import { toDatabaseError } from '../postgres/errors.js';

/** What the catalog commands (`grafana …`, `provision`) share: the catalog database, its flag, their output. */

export interface DbFlags {
  databaseUrl?: string;
  json?: boolean;
}
export const dbOption = [
  '--database-url <url>',
  'PostgreSQL holding the catalog (default: DATABASE_URL, else the PG* variables)',
] as const;

export const dashboardsPath = (flag: string | undefined): string => resolveDashboardsPath(flag, environment());

export const human = (flags: { json?: boolean }): boolean => !flags.json && process.stdout.isTTY;

/** Runs `body` with a pool on the catalog database; database failures become an exit code with the error's code. */
export async function withCatalog(
  flags: DbFlags,
  what: string,
  body: (pool: ReturnType<typeof createPool>) => Promise<number>,
): Promise<number> {
  const config = resolvePgConfig(flags, environment());
  const pool = createPool(config, { max: 2, applicationName: `powerview ${what}` });
  try {
    return await body(pool);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const e = err instanceof PowerViewError ? err : toDatabaseError(err, `${what} (${describePg(config)})`);
    process.stderr.write(`powerview: ${e.code}: ${e.message}\n`);
    return e.code === ErrorCodes.DATABASE_AUTH || e.code === ErrorCodes.STORE_AUTH || e.code === ErrorCodes.TENANT_NAME
      ? 2
      : 1;
  } finally {
    await pool.end().catch(() => {});
  }
}

export async function catalogOf(pool: ReturnType<typeof createPool>, tenant?: string): Promise<GrafanaCatalog> {
  return readCatalog(pool, tenant).catch((err: unknown) => {
    throw toDatabaseError(err, 'read core.tenants / core.campaigns');
  });
}
