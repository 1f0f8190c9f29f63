import type { Command } from 'commander';
import { environment } from '../config/config.js';
import { resolve } from 'node:path';
import { ErrorCodes, PowerViewError, UsageError } from '../errors.js';
import { resolveInfluxApi, resolveInfluxConfig, type InfluxFlags } from '../influx/config.js';
import { describePg, resolvePgConfig } from '../postgres/config.js';
import { createPool } from '../postgres/db.js';
import { toDatabaseError } from '../postgres/errors.js';
import { applyGrafana, resolveGrafanaApi } from '../grafana/apply.js';
import { readCatalog, type GrafanaCatalog } from '../grafana/catalog.js';
import { GRAFANA_ENV } from '../grafana/datasources.js';
import { passwordEnvVar } from '../grafana/names.js';
import { DEFAULT_DASHBOARDS_PATH, resolveDashboardsPath } from '../grafana/providers.js';
import { buildTree, staticTree, writeTree } from '../grafana/tree.js';
import { provisionTenant } from '../provision/tenant.js';
import { requireTenantSecret, tenantPassword } from '../provision/secrets.js';
import { readTokens } from '../provision/token-vault.js';

interface DbFlags {
  databaseUrl?: string;
  json?: boolean;
}
export interface GrafanaBuildFlags extends DbFlags {
  out?: string;
  dashboardsPath?: string;
  staticOnly?: boolean;
  /** how the tenants' InfluxDB datasources authenticate (InfluxDB 3: a Token header); default INFLUX_API, else v1 */
  influxApi?: string;
}
export interface GrafanaApplyFlags extends DbFlags {
  grafanaUrl?: string;
}
export interface GrafanaEnvFlags extends DbFlags, Pick<InfluxFlags, 'influxUrl'> {
  tenant?: string;
}
export interface ProvisionFlags extends DbFlags, InfluxFlags {
  grafanaDir?: string;
  dashboardsPath?: string;
}

const dashboardsPath = (flag: string | undefined): string => resolveDashboardsPath(flag, environment());

const human = (flags: { json?: boolean }): boolean => !flags.json && process.stdout.isTTY;

/** Runs `body` with a pool on the catalog database; database failures become an exit code with the error's code. */
async function withCatalog(
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

async function catalogOf(pool: ReturnType<typeof createPool>, tenant?: string): Promise<GrafanaCatalog> {
  return readCatalog(pool, tenant).catch((err: unknown) => {
    throw toDatabaseError(err, 'read core.tenants / core.campaigns');
  });
}

/**
 * `powerview grafana build`: the whole provisioning tree from the catalog, byte for byte the same for the same catalog.
 */
export async function runGrafanaBuild(flags: GrafanaBuildFlags): Promise<number> {
  const out = resolve(flags.out ?? 'grafana');
  const path = dashboardsPath(flags.dashboardsPath);
  if (flags.staticOnly) {
    // the files committed under grafana/: no database needed, tenants' files left alone
    const result = await writeTree(out, staticTree({ dashboardsPath: path }), 'static');
    process.stdout.write(
      human(flags)
        ? `${out}: ${result.written.length} file(s) written, ${result.unchanged.length} unchanged\n`
        : `${JSON.stringify({ out, ...result }, null, 2)}\n`,
    );
    return 0;
  }
  const influxApi = resolveInfluxApi(flags.influxApi, environment());
  return withCatalog(flags, 'grafana build', async (pool) => {
    const catalog = await catalogOf(pool);
    const result = await writeTree(out, buildTree(catalog, { dashboardsPath: path, influxApi }));
    if (human(flags)) {
      process.stdout.write(
        `${out}: ${catalog.tenants.length} tenant(s), ${result.written.length} file(s) written, ` +
          `${result.unchanged.length} unchanged` +
          `${result.removed.length ? `, ${result.removed.length} removed` : ''}\n`,
      );
    } else {
      process.stdout.write(
        `${JSON.stringify(
          { out, dashboards_path: path, tenants: catalog.tenants.map((t) => t.tenant), ...result },
          null,
          2,
        )}\n`,
      );
    }
    return 0;
  });
}

/** `powerview grafana apply`: a team per tenant with View on its folder (Grafana HTTP API). */
export async function runGrafanaApply(flags: GrafanaApplyFlags): Promise<number> {
  const api = resolveGrafanaApi(flags, environment());
  return withCatalog(flags, 'grafana apply', async (pool) => {
    const result = await applyGrafana(await catalogOf(pool), api);
    if (human(flags)) {
      for (const t of result.tenants) {
        process.stdout.write(
          `${t.tenant}: team "${t.team.name}" ${t.team.created ? 'created' : 'present'}, folder ${t.folder.uid} ` +
            `${t.folder.created ? 'created' : 'present'}, permissions ${t.permissions}\n`,
        );
      }
      process.stdout.write(`${result.changes} change(s)\n`);
    } else {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    }
    return 0;
  });
}

/**
 * libpq sslmode → Grafana's (disable, require, verify-ca, verify-full); node-postgres treats allow/prefer as disable
 * too.
 */
function grafanaSslMode(mode: string): string {
  return mode === 'allow' || mode === 'prefer' ? 'disable' : mode;
}

/**
 * `powerview grafana env`: the variables the provisioning tree's datasources
 * read (`KEY=value` lines, for docker compose's env_file or systemd's
 * EnvironmentFile). Prints secrets: send it to a file only Grafana can read.
 */
export async function runGrafanaEnv(flags: GrafanaEnvFlags): Promise<number> {
  const env = environment();
  const secret = requireTenantSecret(env);
  const pgConfig = resolvePgConfig(flags, env);
  const influx = resolveInfluxConfig({ influxUrl: flags.influxUrl }, env);
  return withCatalog(flags, 'grafana env', async (pool) => {
    const catalog = await catalogOf(pool, flags.tenant);
    if (flags.tenant && catalog.tenants.length === 0)
      throw new UsageError(`--tenant: no tenant "${flags.tenant}" in core.tenants`, ErrorCodes.USAGE);
    const vars = new Map<string, string>([
      // addresses as Grafana reaches them: already-set POWERVIEW_GRAFANA_* win (compose service names), else ours
      [GRAFANA_ENV.influxUrl, env[GRAFANA_ENV.influxUrl] || influx.url],
      [GRAFANA_ENV.pgHost, env[GRAFANA_ENV.pgHost] || `${pgConfig.host}:${pgConfig.port}`],
      [GRAFANA_ENV.pgDatabase, env[GRAFANA_ENV.pgDatabase] || pgConfig.database],
      [GRAFANA_ENV.pgSslMode, env[GRAFANA_ENV.pgSslMode] || grafanaSslMode(pgConfig.sslMode)],
      [GRAFANA_ENV.prometheusUrl, env[GRAFANA_ENV.prometheusUrl] || 'http://127.0.0.1:9090'],
    ]);
    // InfluxDB 3 Enterprise: the tenant's resource token, kept sealed by provisioning (the datasource sends it as
    // `Authorization: Token …`)
    const v3Tokens = influx.api === 'v3' ? await readTokens(pool, secret) : null;
    for (const t of catalog.tenants) {
      if (v3Tokens && !v3Tokens.has(t.tenant)) {
        process.stderr.write(
          `warning: ${t.tenant}: no InfluxDB read token kept (InfluxDB 3 Core has none; on Enterprise run powerview ` +
            `provision ${t.tenant})\n`,
        );
      }
      vars.set(
        passwordEnvVar(t.tenant, 'influx'),
        v3Tokens ? (v3Tokens.get(t.tenant) ?? '') : tenantPassword(secret, t.tenant, 'influx'),
      );
      vars.set(passwordEnvVar(t.tenant, 'pg'), tenantPassword(secret, t.tenant, 'pg'));
    }
    const lines = [...vars].map(([k, v]) => `${k}=${v}`);
    process.stdout.write(
      `# powerview grafana env: secrets below, keep this file readable by Grafana only\n${lines.join('\n')}\n`,
    );
    return 0;
  });
}

/** `powerview provision <company> [campaign]`: what serve does on SFTPGo's mkdir, by hand. */
export async function runProvision(
  company: string,
  campaign: string | undefined,
  flags: ProvisionFlags,
): Promise<number> {
  const env = environment();
  const influx = resolveInfluxConfig(flags, env);
  const grafanaDir = flags.grafanaDir ?? (env.POWERVIEW_GRAFANA_DIR || null);
  const path = dashboardsPath(flags.dashboardsPath);
  return withCatalog(flags, 'provision', async (pool) => {
    const result = await provisionTenant({
      pool,
      influx,
      tenant: company,
      campaign: campaign ?? null,
      grafanaDir: grafanaDir ? resolve(grafanaDir) : null,
      tree: { dashboardsPath: path },
    });
    if (human(flags)) {
      process.stdout.write(
        `${company}${campaign ? `/${campaign}` : ''}: InfluxDB database ${result.influx.database} ` +
          `(reader: ${result.influx.reader.status}), ` +
          `PostgreSQL role ${result.postgres.role} (login: ${result.postgres.login ?? 'none'})` +
          (result.grafana
            ? `, Grafana: ${result.grafana.written.length} file(s) written in ${result.grafana.dir}`
            : '') +
          '\n',
      );
      for (const w of result.warnings) process.stdout.write(`warning: ${w}\n`);
    } else {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    }
    return 0;
  });
}

/** The `grafana build|apply|env` and `provision` commands (registered by main.ts). */
export function registerGrafanaCommands(program: Command, setExit: (code: number) => void): void {
  const dbOption = [
    '--database-url <url>',
    'PostgreSQL holding the catalog (default: DATABASE_URL, else the PG* variables)',
  ] as const;
  const grafana = program
    .command('grafana')
    .description('the Grafana provisioning tree (datasources, folders, dashboards) for every tenant and campaign');
  grafana
    .command('build')
    .description('write the provisioning tree from the catalog of tenants and campaigns (same catalog, same bytes)')
    .option('--out <dir>', 'tree to write', 'grafana')
    .option(
      '--dashboards-path <path>',
      `where Grafana reads the tree's dashboards/ folder (default: POWERVIEW_GRAFANA_DASHBOARDS_PATH, else ` +
        `${DEFAULT_DASHBOARDS_PATH})`,
    )
    .option(
      '--static-only',
      'only the files every deployment has (Prometheus, the ingester dashboard): no database needed',
    )
    .option(
      '--influx-api <v1|v2|v3>',
      "the InfluxDB API: how the tenants' InfluxDB datasources authenticate (default: INFLUX_API, else v1)",
    )
    .option(...dbOption)
    .option('--json', 'print the JSON result (the default when stdout is not a terminal)')
    .action(async (flags: GrafanaBuildFlags) => setExit(await runGrafanaBuild(flags)));
  grafana
    .command('apply')
    .description(
      'create a team per tenant with View on its folder through the Grafana HTTP API (GRAFANA_URL, GRAFANA_TOKEN); ' +
        'idempotent',
    )
    .option('--grafana-url <url>', 'Grafana base URL (default: GRAFANA_URL)')
    .option(...dbOption)
    .option('--json', 'print the JSON result (the default when stdout is not a terminal)')
    .action(async (flags: GrafanaApplyFlags) => setExit(await runGrafanaApply(flags)));
  grafana
    .command('env')
    .description(
      "print the variables the tree's datasources read (addresses, each tenant's derived read passwords: secrets!) " +
        'as KEY=value lines',
    )
    .option('--tenant <name>', 'one tenant only')
    .option(
      '--influx-url <url>',
      'InfluxDB as Grafana reaches it (default: POWERVIEW_GRAFANA_INFLUX_URL, else INFLUX_URL)',
    )
    .option(...dbOption)
    .action(async (flags: GrafanaEnvFlags) => setExit(await runGrafanaEnv(flags)));
  program
    .command('provision')
    .description(
      'provision a tenant (and campaign): InfluxDB database and read user, PostgreSQL tenant, campaign and login, ' +
        "the tenant's Grafana files; idempotent",
    )
    .argument('<company>', 'tenant (company folder name)')
    .argument('[campaign]', 'campaign folder name')
    .option(
      '--grafana-dir <dir>',
      "provisioning tree to write the tenant's files in (default: POWERVIEW_GRAFANA_DIR, else none)",
    )
    .option(
      '--dashboards-path <path>',
      `where Grafana reads the tree's dashboards/ folder (default: POWERVIEW_GRAFANA_DASHBOARDS_PATH, else ` +
        `${DEFAULT_DASHBOARDS_PATH})`,
    )
    .option('--influx-url <url>', 'InfluxDB base URL (default: INFLUX_URL, else http://127.0.0.1:8086)')
    .option('--influx-api <v1|v2|v3>', 'InfluxDB API (default: INFLUX_API, else v1)')
    .option('--influx-org <org>', 'v2 organisation (default: INFLUX_ORG)')
    .option('--influx-username <user>', 'v1 admin user (default: INFLUX_USERNAME)')
    .option(...dbOption)
    .option('--json', 'print the JSON result (the default when stdout is not a terminal)')
    .action(async (company: string, campaign: string | undefined, flags: ProvisionFlags) =>
      setExit(await runProvision(company, campaign, flags)),
    );
}
