import type { Command } from 'commander';
import { resolve } from 'node:path';
import { environment } from '../config/config.js';
import { DEFAULT_DASHBOARDS_PATH } from '../grafana/providers.js';
import { resolveInfluxConfig, type InfluxFlags } from '../influx/config.js';
import { dashboardsPath, dbOption, human, withCatalog, type DbFlags } from './catalog-db.js';

export interface ProvisionFlags extends DbFlags, InfluxFlags {
  grafanaDir?: string;
  dashboardsPath?: string;
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
    // provisioning loads the Grafana SDK and the InfluxDB admin clients: only this command loads them
    const { provisionTenant } = await import('../provision/tenant.js');
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

/** The `provision` command (registered by main.ts). */
export function registerProvisionCommand(program: Command, setExit: (code: number) => void): void {
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
