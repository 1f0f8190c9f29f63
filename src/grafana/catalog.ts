import type pg from 'pg';

/** What the provisioning tree is built from: tenants and their campaigns, sorted. */
export interface GrafanaCatalog {
  tenants: TenantEntry[];
}

export interface TenantEntry {
  tenant: string;
  /** IANA zone of the tenant's days and months (core.tenants.time_zone) */
  timeZone: string;
  campaigns: string[];
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Sorted by code point (not locale), so the same catalog always gives the same order. */
export function normalizeCatalog(tenants: TenantEntry[]): GrafanaCatalog {
  return {
    tenants: tenants
      .map((t) => ({ tenant: t.tenant, timeZone: t.timeZone, campaigns: [...new Set(t.campaigns)].sort(byCodePoint) }))
      .sort((a, b) => byCodePoint(a.tenant, b.tenant)),
  };
}

/** Reads core.tenants and core.campaigns (as a role that sees every tenant), optionally one tenant only. */
export async function readCatalog(pool: pg.Pool, tenant?: string): Promise<GrafanaCatalog> {
  const r = await pool.query<{ tenant: string; time_zone: string; campaigns: string[] }>(
    `SELECT t.tenant, t.time_zone,
            COALESCE(array_agg(c.campaign ORDER BY c.campaign) FILTER (WHERE c.campaign IS NOT NULL), '{}') AS campaigns
       FROM core.tenants t
       LEFT JOIN core.campaigns c ON c.tenant = t.tenant
      WHERE $1::text IS NULL OR t.tenant = $1
      GROUP BY t.tenant, t.time_zone`,
    [tenant ?? null],
  );
  return normalizeCatalog(
    r.rows.map((row) => ({ tenant: row.tenant, timeZone: row.time_zone, campaigns: row.campaigns })),
  );
}
