import { dirname, join, resolve } from 'node:path';
import { ErrorCodes, UsageError } from '../errors.js';
import { resolveIngestConfig } from '../config/config.js';
import { resolveInfluxConfig, type InfluxFlags } from '../influx/config.js';
import { resolvePgConfig } from '../postgres/config.js';
import { clientConfigOf, createPool } from '../postgres/db.js';
import { Service, type Provisioner } from '../service/service.js';
import { parseUserMap } from '../service/hook.js';
import { makeLogger } from './ingest.js';
import { provisionTenant } from '../provision/tenant.js';
import { resolveDashboardsPath } from '../grafana/providers.js';
import type { Logger } from 'pino';
import type { Pool } from 'pg';
import type { InfluxConfig } from '../influx/config.js';

export interface ServeFlags extends InfluxFlags {
  root?: string;
  httpAddr?: string;
  hookSecret?: string;
  hookUserMap?: string;
  settle?: string;
  stall?: string;
  rescan?: string;
  drainTimeout?: string;
  stateDir?: string;
  workers?: string;
  v002Timezone?: string;
  databaseUrl?: string;
  metaDb?: string;
  logLevel?: string;
  logFile?: string;
  grafanaDir?: string;
}

function seconds(text: string | undefined, fallback: number, what: string, min: number, max: number): number {
  if (text === undefined || text === '') return fallback;
  const v = Number(text);
  if (!Number.isFinite(v) || v < min || v > max)
    throw new UsageError(`${what} must be a number of seconds from ${min} to ${max}, got "${text}"`, ErrorCodes.CONFIG);
  return v;
}

/** host:port → parts; IPv6 as [::1]:9464. */
export function parseAddr(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(
      `--http-addr / POWERVIEW_HTTP_ADDR must be host:port (e.g. 127.0.0.1:9464), got "${text}"`,
      ErrorCodes.CONFIG,
    );
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** `powerview serve`: runs until SIGTERM/SIGINT; resolves to the exit code. */
export async function runServe(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const rootText = flags.root ?? env.POWERVIEW_DATA_ROOT;
  if (!rootText)
    throw new UsageError(
      '--root / POWERVIEW_DATA_ROOT is required: the folder SFTPGo writes <company>/<campaign>/<device>/ files into',
      ErrorCodes.CONFIG,
    );
  const root = resolve(rootText);
  const secret = flags.hookSecret ?? env.POWERVIEW_HOOK_SECRET;
  if (!secret || secret.length < 16) {
    throw new UsageError(
      '--hook-secret / POWERVIEW_HOOK_SECRET is required, at least 16 characters (SFTPGo sends it as Bearer or basic-auth password)',
      ErrorCodes.CONFIG,
    );
  }
  let userMap: Map<string, string>;
  try {
    userMap = parseUserMap(flags.hookUserMap ?? env.POWERVIEW_HOOK_USER_MAP);
  } catch (err) {
    throw new UsageError(
      `--hook-user-map / POWERVIEW_HOOK_USER_MAP: ${(err as Error).message} (expected user=company,...)`,
      ErrorCodes.CONFIG,
    );
  }
  const { host, port } = parseAddr(flags.httpAddr ?? (env.POWERVIEW_HTTP_ADDR || '127.0.0.1:9464'));
  const settleMs =
    seconds(flags.settle ?? env.POWERVIEW_SETTLE_SECONDS, 5, '--settle / POWERVIEW_SETTLE_SECONDS', 0.1, 3600) * 1000;
  const stallGiven = flags.stall ?? env.POWERVIEW_STALL_SECONDS;
  // by default the stall bound is 600 s, or the settle time when that is longer
  const stallMs =
    stallGiven === undefined
      ? Math.max(600_000, settleMs)
      : seconds(stallGiven, 600, '--stall / POWERVIEW_STALL_SECONDS', 1, 86400) * 1000;
  if (stallMs < settleMs)
    throw new UsageError('--stall / POWERVIEW_STALL_SECONDS must be at least --settle', ErrorCodes.CONFIG);
  const rescanMs =
    seconds(flags.rescan ?? env.POWERVIEW_RESCAN_SECONDS, 60, '--rescan / POWERVIEW_RESCAN_SECONDS', 1, 86400) * 1000;
  const drainMs =
    seconds(
      flags.drainTimeout ?? env.POWERVIEW_DRAIN_SECONDS,
      30,
      '--drain-timeout / POWERVIEW_DRAIN_SECONDS',
      1,
      3600,
    ) * 1000;
  const stateDir = resolve(flags.stateDir ?? (env.POWERVIEW_STATE_DIR || join(dirname(root), 'state')));
  const config = resolveIngestConfig({ root, v002Timezone: flags.v002Timezone, workers: flags.workers }, env);
  const influx = resolveInfluxConfig(flags, env);
  const pgConfig = resolvePgConfig({ databaseUrl: flags.databaseUrl }, env);
  const grafanaDirText = flags.grafanaDir ?? env.POWERVIEW_GRAFANA_DIR;
  const grafanaDir = grafanaDirText === '' ? null : resolve(grafanaDirText ?? 'grafana');
  const logger = makeLogger({ logLevel: flags.logLevel }, flags.logFile ? resolve(flags.logFile) : null);
  const pool = createPool(pgConfig, { max: 6, applicationName: 'powerview serve' });
  const service = new Service({
    root,
    host,
    port,
    hookSecret: secret,
    hookUserMap: userMap,
    settleMs,
    stallMs,
    rescanMs,
    drainMs,
    stateDir,
    influx,
    pool,
    pgClientConfig: clientConfigOf(pgConfig),
    pipeline: { workers: config.workers, blockBytes: config.blockBytes, v002TimeZone: config.v002TimeZone },
    provision: provisioner(pool, influx, grafanaDir, logger),
    metaDb: flags.metaDb ?? (env.POWERVIEW_META_DB || 'powerview_meta'),
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
    `powerview serve: listening on http://${addr?.address}:${addr?.port} (hook: POST /hooks/sftpgo; /metrics, /healthz, /readyz), data root ${root}\n`,
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
  return drained ? 0 : 1;
}

function provisioner(
  pool: Pool,
  influx: Readonly<InfluxConfig>,
  grafanaDir: string | null,
  logger: Logger,
): Provisioner {
  // the same dashboards path as `powerview grafana build` (validated here, at start)
  const tree = { dashboardsPath: resolveDashboardsPath(undefined) };
  return async (tenant, campaign) => {
    const r = await provisionTenant({ pool, influx, tenant, campaign, grafanaDir, tree, logger });
    for (const w of r.warnings)
      logger.warn({ event: 'provision', tenant, campaign, warning: w }, 'provisioning warning');
  };
}
