import { ErrorCodes, UsageError } from '../errors.js';
import { environment, type Env } from '../config/config.js';
import { resolveServeConfig, type ServeConfigFlags } from '../config/serve.js';
import { resolveInfluxConfig, type InfluxFlags } from '../influx/config.js';
import { resolvePgConfig } from '../postgres/config.js';
import { clientConfigOf, createPool } from '../postgres/db.js';
import { Service, type Provisioner } from '../service/service.js';
import { makeLogger } from '../log/logger.js';
import { provisionTenant } from '../provision/tenant.js';
import { resolveDashboardsPath } from '../grafana/providers.js';
import type { Logger } from 'pino';
import type { Pool } from 'pg';
import type { InfluxConfig } from '../influx/config.js';

export type ServeFlags = InfluxFlags & ServeConfigFlags;

/** `powerview serve`: runs until SIGTERM/SIGINT; resolves to the exit code. */
export async function runServe(flags: ServeFlags, env: Env = environment()): Promise<number> {
  const serve = resolveServeConfig(flags, env);
  const { root, host, port, ingest: config } = serve;
  const influx = resolveInfluxConfig(flags, env);
  const pgConfig = resolvePgConfig({ databaseUrl: flags.databaseUrl }, env);
  const logger = makeLogger(config.logLevel, serve.logFile);
  const pool = createPool(pgConfig, { max: 6, applicationName: 'powerview serve' });
  const service = new Service({
    root,
    host,
    port,
    hookSecret: serve.hookSecret,
    hookUserMap: serve.hookUserMap,
    settleMs: serve.settleMs,
    stallMs: serve.stallMs,
    rescanMs: serve.rescanMs,
    drainMs: serve.drainMs,
    stateDir: serve.stateDir,
    influx,
    pool,
    pgClientConfig: clientConfigOf(pgConfig),
    pipeline: { workers: config.workers, blockBytes: config.blockBytes, v002TimeZone: config.v002TimeZone },
    provision: provisioner(pool, influx, serve.grafanaDir, logger),
    metaDb: config.metaDb,
    logger,
  });
  try {
    await service.start();
  } catch (err) {
    await pool.end().catch(() => {});
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new UsageError(`${host}:${port} is already in use (--http-addr / POWERVIEW_HTTP_ADDR)`, ErrorCodes.CONFIG);
    throw err;
  }
  const addr = service.address;
  process.stderr.write(
    `powerview serve: listening on http://${addr?.address}:${addr?.port} ` +
      `(hook: POST /hooks/sftpgo; /metrics, /healthz, /readyz), data root ${root}\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((r) => {
    process.once('SIGTERM', () => r('SIGTERM'));
    process.once('SIGINT', () => r('SIGINT'));
  });
  logger.info({ event: 'signal', signal }, 'stopping: intake closed, finishing in-flight files');
  const { drained } = await service.stop();
  if (!drained) {
    // the bound is the bound: files not finished stay in place and in the journal, the claims session is
    // closed (a late commit would be refused), so the next start takes them up; the pool is not waited for
    await new Promise<void>((r) => logger.flush(() => r()));
    process.exit(1);
  }
  await pool.end().catch(() => {});
  logger.flush();
  return 0;
}

function provisioner(
  pool: Pool,
  influx: Readonly<InfluxConfig>,
  grafanaDir: string | null,
  logger: Logger,
): Provisioner {
  // the same dashboards path as `powerview grafana build` (validated here, at start)
  const tree = { dashboardsPath: resolveDashboardsPath(undefined, environment()) };
  return async (tenant, campaign) => {
    const r = await provisionTenant({ pool, influx, tenant, campaign, grafanaDir, tree, logger });
    for (const w of r.warnings)
      logger.warn({ event: 'provision', tenant, campaign, warning: w }, 'provisioning warning');
  };
}
