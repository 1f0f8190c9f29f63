import type pg from 'pg';
import type pino from 'pino';
import { ErrorCodes, StoreError, TenantNameError } from '../errors.js';
import { tenantNameProblem, type InfluxConfig } from '../influx/config.js';
import { InfluxHttp } from '../influx/http-api.js';
import { toDatabaseError } from '../postgres/errors.js';
import { readCatalog } from '../grafana/catalog.js';
import { tenantLogin } from '../grafana/names.js';
import { staticTree, tenantTree, writeTree, type TreeOptions, type WriteResult } from '../grafana/tree.js';
import { ensureInfluxDatabase, ensureInfluxReader, type InfluxReaderResult } from './influx-reader.js';
import { resolveTenantSecret, scramVerifier, tenantPassword, TENANT_SECRET_VAR } from './secrets.js';
import { PgTokenVault } from './token-vault.js';

export interface ProvisionOptions {
  /** PostgreSQL as the ingest role (member of powerview_ingest) or an administrator */
  pool: pg.Pool;
  /** InfluxDB with rights to create databases and users (v1: an admin) */
  influx: Readonly<InfluxConfig>;
  tenant: string;
  campaign?: string | null;
  /** the provisioning tree to (re)write the tenant's files in; null or absent: no files */
  grafanaDir?: string | null;
  /** build options of the tree (must match the full build's: `--dashboards-path`) */
  tree?: TreeOptions;
  /** default: POWERVIEW_TENANT_SECRET; without one, no read logins are set (the result says so) */
  secret?: string;
  logger?: pino.Logger;
}

export interface ProvisionResult {
  tenant: string;
  campaign: string | null;
  influx: { database: string; reader: InfluxReaderResult };
  postgres: { role: string; login: string | null };
  grafana: (WriteResult & { dir: string }) | null;
  warnings: string[];
}

/**
 * Everything a tenant (and campaign) needs, idempotent — `serve` calls it on
 * SFTPGo's `mkdir <company>/<campaign>`, `powerview provision` by hand:
 * InfluxDB database or bucket (+ read-only credentials: a 1.x user, a 2.x
 * v1-compatible authorization, a 3 Enterprise resource token; 3 Core has none),
 * PostgreSQL tenant row and role, campaign row, the tenant's login role with
 * its derived password, and the tenant's Grafana files. Secrets are derived
 * (POWERVIEW_TENANT_SECRET), sent as a SCRAM verifier to PostgreSQL and in a
 * POST body to InfluxDB, and never logged.
 */
export async function provisionTenant(opts: ProvisionOptions): Promise<ProvisionResult> {
  const { tenant } = opts;
  const campaign = opts.campaign ?? null;
  for (const [kind, name] of [
    ['company', tenant],
    ['campaign', campaign],
  ] as const) {
    // the store's own rule too: InfluxDB 3 refuses a '.' in a database name that 1.x and 2.x accept
    const problem = name === null ? null : tenantNameProblem(kind, name, opts.influx.api);
    if (problem) throw new TenantNameError(problem);
  }
  const secret = opts.secret ?? resolveTenantSecret();
  const warnings: string[] = [];
  if (!secret)
    warnings.push(
      `${TENANT_SECRET_VAR} is not set: no read logins for ${tenant} (its Grafana datasources cannot connect)`,
    );
  const login = tenantLogin(tenant);

  const http = new InfluxHttp(opts.influx, 2);
  let reader: InfluxReaderResult;
  let role: string;
  let pgLogin: string | null = null;
  try {
    await ensureInfluxDatabase(http, tenant);
    try {
      role = (await opts.pool.query<{ role: string }>('SELECT core.ensure_tenant($1) AS role', [tenant])).rows[0].role;
      if (campaign)
        await opts.pool.query('INSERT INTO core.campaigns (tenant, campaign) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
          tenant,
          campaign,
        ]);
      if (secret) {
        const verifier = scramVerifier(tenantPassword(secret, tenant, 'pg'));
        pgLogin = (
          await opts.pool.query<{ login: string }>('SELECT core.ensure_tenant_login($1, $2) AS login', [
            tenant,
            verifier,
          ])
        ).rows[0].login;
      }
    } catch (err) {
      throw toDatabaseError(err, `provision tenant ${tenant}`);
    }
    // after the tenant row: InfluxDB 3 Enterprise keeps the tenant's token in core.influx_read_tokens
    try {
      reader = secret
        ? await ensureInfluxReader(
            http,
            tenant,
            login,
            tenantPassword(secret, tenant, 'influx'),
            new PgTokenVault(opts.pool, secret),
          )
        : { user: null, status: 'skipped' };
    } catch (err) {
      // refused for good (INFLUX_TOKEN lacks the rights, a conflicting object): provision the rest and say why;
      // a store that is down (network, 5xx) is thrown, so serve retries
      if (
        !(err instanceof StoreError) ||
        (err.code !== ErrorCodes.STORE_AUTH && err.code !== ErrorCodes.STORE_REJECTED)
      )
        throw err;
      reader = { user: null, status: 'failed' };
      warnings.push(`InfluxDB read credentials of ${tenant} not provisioned: ${err.message}`);
    }
  } finally {
    await http.close();
  }
  if (reader.status === 'inactive')
    warnings.push(`InfluxDB: the read authorization ${login} is inactive (deactivated by an operator): left so`);
  if (reader.status === 'none')
    warnings.push('InfluxDB 3 Core has no per-database read tokens: the tenant datasource needs a token of its own');

  let grafana: ProvisionResult['grafana'] = null;
  if (opts.grafanaDir) {
    const catalog = await readCatalog(opts.pool, tenant).catch((err: unknown) => {
      throw toDatabaseError(err, `read the catalog of ${tenant}`);
    });
    const entry = catalog.tenants[0] ?? { tenant, timeZone: 'Europe/Paris', campaigns: campaign ? [campaign] : [] };
    const treeOptions = { ...opts.tree, influxApi: opts.influx.api };
    const tree = new Map([...staticTree(treeOptions), ...tenantTree(entry, treeOptions)]);
    grafana = { dir: opts.grafanaDir, ...(await writeTree(opts.grafanaDir, tree, { tenant })) };
  }

  const result: ProvisionResult = {
    tenant,
    campaign,
    influx: { database: tenant, reader },
    postgres: { role, login: pgLogin },
    grafana,
    warnings,
  };
  opts.logger?.info(
    {
      tenant,
      campaign,
      influxReader: reader.status,
      pgLogin,
      grafanaWritten: grafana?.written.length ?? null,
      warnings,
    },
    'tenant provisioned',
  );
  return result;
}
