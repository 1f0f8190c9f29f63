import type pg from 'pg';
import type { PgConfig } from '../postgres/config.js';
import { createPool } from '../postgres/db.js';
import { tenantLogin } from '../grafana/names.js';
import { tenantPassword } from '../provision/secrets.js';

/**
 * The PostgreSQL settings of `base` (host, port, database, TLS) with the tenant's own login and derived
 * password: the credentials its Grafana PostgreSQL datasource uses (`powerview grafana env`), so row-level
 * security decides what the report can read. Frozen; the password is not enumerable, as in resolvePgConfig.
 */
export function tenantPgConfig(base: PgConfig, tenant: string, secret: string): PgConfig {
  const config = {
    host: base.host,
    port: base.port,
    user: tenantLogin(tenant),
    database: base.database,
    sslMode: base.sslMode,
    source: base.source,
  };
  Object.defineProperty(config, 'password', { value: tenantPassword(secret, tenant, 'pg'), enumerable: false });
  return Object.freeze(config);
}

/** A small pool as the tenant's login (a report runs its statements one after the other). */
export function tenantPool(base: PgConfig, tenant: string, secret: string): pg.Pool {
  return createPool(tenantPgConfig(base, tenant, secret), { max: 1, applicationName: 'powerview report' });
}
