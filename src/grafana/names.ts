import { createHash } from 'node:crypto';

/**
 * Names and uids derived from tenant and campaign names: stable (the same
 * name always gives the same uid), within Grafana's limits (uids: at most 40
 * characters of [A-Za-z0-9_-]) and in step with PostgreSQL's
 * core.tenant_role() / core.tenant_login().
 */

/** JS twin of core.tenant_role(): pv_tenant_ + the name lower-cased, . and - as _ (hashed past 63 bytes). */
export function tenantRole(tenant: string): string {
  const full = `pv_tenant_${tenant.toLowerCase().replace(/[.-]/g, '_')}`;
  if (full.length <= 63) return full;
  return `${full.slice(0, 54)}_${createHash('md5').update(tenant).digest('hex').slice(0, 8)}`;
}

/** JS twin of core.tenant_login(): the login of a tenant, in PostgreSQL and in InfluxDB. */
export function tenantLogin(tenant: string): string {
  return `pv_login_${tenantRole(tenant).slice('pv_tenant_'.length)}`;
}

/** The environment variable Grafana reads a tenant's password from (`PV_LOGIN_ACME_PG_PASSWORD`). */
export function passwordEnvVar(tenant: string, store: 'pg' | 'influx'): string {
  return `${tenantLogin(tenant).toUpperCase()}_${store === 'pg' ? 'PG' : 'INFLUX'}_PASSWORD`;
}

const UID_MAX = 40;

/**
 * `<prefix>-<readable>-<hash8>`: the readable part is the names lower-cased
 * with anything but [a-z0-9] as '-', cut to fit; the hash of the exact names
 * keeps uids of names that read alike ('a.b' and 'a-b') apart.
 */
export function stableUid(prefix: string, ...names: string[]): string {
  const hash = createHash('sha256').update(names.join('\u0000')).digest('hex').slice(0, 8);
  const room = UID_MAX - prefix.length - hash.length - 2;
  const readable = names
    .map((n) =>
      n
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, ''),
    )
    .join('-')
    .slice(0, room)
    .replace(/-+$/, '');
  return readable ? `${prefix}-${readable}-${hash}` : `${prefix}-${hash}`;
}

export const uids = {
  influxDatasource: (tenant: string) => stableUid('pvi', tenant),
  pgDatasource: (tenant: string) => stableUid('pvp', tenant),
  prometheusDatasource: 'pv-prometheus',
  tenantFolder: (tenant: string) => stableUid('pvf', tenant),
  overviewDashboard: (tenant: string) => stableUid('pvo', tenant),
  campaignDashboard: (tenant: string, campaign: string) => stableUid('pvc', tenant, campaign),
  monitoringFolder: 'pv-ingester',
  monitoringDashboard: 'pv-ingester-monitoring',
} as const;

/** The Grafana team of a tenant (`apply`). */
export function teamName(tenant: string): string {
  return `PowerView ${tenant}`;
}
