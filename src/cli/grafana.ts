import type { Command } from 'commander';
import { catalogOf, dashboardsPath, dbOption, human, withCatalog, type DbFlags } from './catalog-db.js';
import { environment } from '../config/config.js';
import { resolve } from 'node:path';
import { ErrorCodes, UsageError } from '../errors.js';
import { resolveInfluxApi, resolveInfluxConfig, type InfluxFlags } from '../influx/config.js';
import { resolvePgConfig } from '../postgres/config.js';
import { applyGrafana, resolveGrafanaApi } from '../grafana/apply.js';
import { addTenantUser, userAdminApi, type TenantUserResult } from '../grafana/users.js';
import { GRAFANA_ENV } from '../grafana/datasources.js';
import { passwordEnvVar } from '../grafana/names.js';
import { DEFAULT_DASHBOARDS_PATH } from '../grafana/providers.js';
import { requireTenantSecret, tenantPassword } from '../provision/secrets.js';

export interface GrafanaBuildFlags extends DbFlags {
  out?: string;
  dashboardsPath?: string;
  staticOnly?: boolean;
  /** how the tenants' InfluxDB datasources authenticate (InfluxDB 3: a Token header); default INFLUX_API, else v1 */
  influxApi?: string;
}
export interface GrafanaApplyFlags extends DbFlags {
  grafanaUrl?: string;
  defaultUsers?: boolean;
}
export interface GrafanaUserFlags extends DbFlags {
  grafanaUrl?: string;
  email?: string;
  name?: string;
}
export interface GrafanaEnvFlags extends DbFlags, Pick<InfluxFlags, 'influxUrl'> {
  tenant?: string;
}
/**
 * `powerview grafana build`: the whole provisioning tree from the catalog, byte for byte the same for the same catalog.
 */
export async function runGrafanaBuild(flags: GrafanaBuildFlags): Promise<number> {
  const out = resolve(flags.out ?? 'grafana');
  const path = dashboardsPath(flags.dashboardsPath);
  // the tree builders load the Grafana foundation SDK: only the commands that build load them
  const { buildTree, staticTree, writeTree } = await import('../grafana/tree.js');
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
    const result = await applyGrafana(await catalogOf(pool), api, { defaultUsers: flags.defaultUsers });
    if (human(flags)) {
      for (const t of result.tenants) {
        process.stdout.write(
          `${t.tenant}: team "${t.team.name}" ${t.team.created ? 'created' : 'present'}, folder ${t.folder.uid} ` +
            `${t.folder.created ? 'created' : 'present'}, permissions ${t.permissions}\n`,
        );
        if (t.user) process.stdout.write(`${userLine(t.user)}\n`);
      }
      process.stdout.write(`${result.changes} change(s)\n`);
    } else {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    }
    return 0;
  });
}

/** `acme: user "bob" created, password … (shown once), added to team "PowerView acme"`. */
function userLine(u: TenantUserResult): string {
  const who = u.created ? `created, password ${u.password} (shown once: keep it now)` : 'present (password unchanged)';
  return `${u.tenant}: user "${u.login}" ${who}, ${u.member === 'added' ? 'added to' : 'already in'} team "${u.team}"`;
}

/** `powerview grafana user add <company> <login>`: the user, found or created, in the tenant's team. */
export async function runGrafanaUserAdd(tenant: string, login: string, flags: GrafanaUserFlags): Promise<number> {
  const api = userAdminApi(resolveGrafanaApi(flags, environment()));
  return withCatalog(flags, 'grafana user add', async (pool) => {
    if ((await catalogOf(pool, tenant)).tenants.length === 0)
      throw new UsageError(`no tenant "${tenant}" in core.tenants (provision it first)`, ErrorCodes.USAGE);
    const result = await addTenantUser(api, tenant, login, { email: flags.email, name: flags.name });
    process.stdout.write(human(flags) ? `${userLine(result)}\n` : `${JSON.stringify(result, null, 2)}\n`);
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
    const v3Tokens =
      influx.api === 'v3' ? await (await import('../provision/token-vault.js')).readTokens(pool, secret) : null;
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

/** The `grafana build|apply|env` commands (registered by main.ts). */
export function registerGrafanaCommands(program: Command, setExit: (code: number) => void): void {
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
    .option(
      '--default-users',
      'also a Grafana user user_<tenant> per tenant in its team, created with a password printed once ' +
        '(needs GRAFANA_USER and GRAFANA_PASSWORD of a server admin)',
    )
    .option(...dbOption)
    .option('--json', 'print the JSON result (the default when stdout is not a terminal)')
    .action(async (flags: GrafanaApplyFlags) => setExit(await runGrafanaApply(flags)));
  grafana
    .command('user')
    .description("Grafana users of a tenant's team")
    .command('add <company> <login>')
    .description(
      "find or create a Grafana user and make it a member of the tenant's team (View on its folder); a user " +
        'created gets the Viewer role and a generated password, printed once (GRAFANA_USER and GRAFANA_PASSWORD ' +
        'of a server admin)',
    )
    .option('--email <address>', "the new user's e-mail (default: none)")
    .option('--name <name>', "the new user's display name (default: the login)")
    .option('--grafana-url <url>', 'Grafana base URL (default: GRAFANA_URL)')
    .option(...dbOption)
    .option('--json', 'print the JSON result (the default when stdout is not a terminal)')
    .action(async (company: string, login: string, flags: GrafanaUserFlags) =>
      setExit(await runGrafanaUserAdd(company, login, flags)),
    );
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
}
