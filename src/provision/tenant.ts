import type pg from 'pg';
import { DEFAULT_V002_TIME_ZONE } from '../tsv/timezone.js';
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
  checkNames(tenant, campaign, opts.influx.api);
  const secret = opts.secret ?? resolveTenantSecret();
  const warnings: string[] = [];
  if (!secret)
    warnings.push(
      `${TENANT_SECRET_VAR} is not set: no read logins for ${tenant} (its Grafana datasources cannot connect)`,
    );
  const login = tenantLogin(tenant);

  const http = new InfluxHttp(opts.influx, 2);
  let reader: InfluxReaderResult;
  let postgres: ProvisionResult['postgres'];
  try {
    await ensureInfluxDatabase(http, tenant);
    postgres = await ensurePostgresTenant(opts.pool, tenant, campaign, secret);
    // after the tenant row: InfluxDB 3 Enterprise keeps the tenant's token in core.influx_read_tokens
    reader = await ensureReader(http, opts.pool, tenant, login, secret, warnings);
  } finally {
    await http.close();
  }
  if (reader.status === 'inactive')
    warnings.push(`InfluxDB: the read authorization ${login} is inactive (deactivated by an operator): left so`);
  if (reader.status === 'none')
    warnings.push('InfluxDB 3 Core has no per-database read tokens: the tenant datasource needs a token of its own');
  const grafana = opts.grafanaDir ? await writeTenantTree(opts, opts.grafanaDir, campaign) : null;

  const result: ProvisionResult = {
    tenant,
    campaign,
    influx: { database: tenant, reader },
    postgres,
    grafana,
    warnings,
  };
  opts.logger?.info(
    {
      tenant,
      campaign,
      influxReader: reader.status,
      pgLogin: postgres.login,
      grafanaWritten: grafana?.written.length ?? null,
      warnings,
    },
    'tenant provisioned',
  );
  return result;
}

/** Company and campaign names, by the store's own rule too: InfluxDB 3 refuses a '.' that 1.x and 2.x accept. */
function checkNames(tenant: string, campaign: string | null, api: InfluxConfig['api']): void {
  for (const [kind, name] of [
    ['company', tenant],
    ['campaign', campaign],
  ] as const) {
    const problem = name === null ? null : tenantNameProblem(kind, name, api);
    if (problem) throw new TenantNameError(problem);
  }
}

/** The tenant row and role, the campaign row, and (with a secret) the tenant's login with its derived password. */
async function ensurePostgresTenant(
  pool: pg.Pool,
  tenant: string,
  campaign: string | null,
  secret: string | undefined,
): Promise<ProvisionResult['postgres']> {
  try {
    const role = (await pool.query<{ role: string }>('SELECT core.ensure_tenant($1) AS role', [tenant])).rows[0].role;
    if (campaign)
      await pool.query('INSERT INTO core.campaigns (tenant, campaign) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
        tenant,
        campaign,
      ]);
    if (!secret) return { role, login: null };
    const verifier = scramVerifier(tenantPassword(secret, tenant, 'pg'));
    const login = (
      await pool.query<{ login: string }>('SELECT core.ensure_tenant_login($1, $2) AS login', [tenant, verifier])
    ).rows[0].login;
    return { role, login };
  } catch (err) {
    throw toDatabaseError(err, `provision tenant ${tenant}`);
  }
}

/**
 * The tenant's InfluxDB read credentials (none without a secret). Refused for good (INFLUX_TOKEN lacks the rights,
 * a conflicting object): `failed`, with a warning, and the rest is provisioned; a store that is down (network, 5xx)
 * is thrown, so serve retries.
 */
async function ensureReader(
  http: InfluxHttp,
  pool: pg.Pool,
  tenant: string,
  login: string,
  secret: string | undefined,
  warnings: string[],
): Promise<InfluxReaderResult> {
  if (!secret) return { user: null, status: 'skipped' };
  try {
    const password = tenantPassword(secret, tenant, 'influx');
    return await ensureInfluxReader(http, tenant, login, password, new PgTokenVault(pool, secret));
  } catch (err) {
    if (!(err instanceof StoreError) || (err.code !== ErrorCodes.STORE_AUTH && err.code !== ErrorCodes.STORE_REJECTED))
      throw err;
    warnings.push(`InfluxDB read credentials of ${tenant} not provisioned: ${err.message}`);
    return { user: null, status: 'failed' };
  }
}

/** The tenant's Grafana files (re)written in `dir`, from its catalog entry. */
async function writeTenantTree(
  opts: ProvisionOptions,
  dir: string,
  campaign: string | null,
): Promise<NonNullable<ProvisionResult['grafana']>> {
  const { tenant } = opts;
  const catalog = await readCatalog(opts.pool, tenant).catch((err: unknown) => {
    throw toDatabaseError(err, `read the catalog of ${tenant}`);
  });
  const entry = catalog.tenants[0] ?? {
    tenant,
    timeZone: DEFAULT_V002_TIME_ZONE,
    campaigns: campaign ? [campaign] : [],
  };
  const treeOptions = { ...opts.tree, influxApi: opts.influx.api };
  const tree = new Map([...staticTree(treeOptions), ...tenantTree(entry, treeOptions)]);
  return { dir, ...(await writeTree(dir, tree, { tenant })) };
}
