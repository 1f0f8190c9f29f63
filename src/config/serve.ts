import { dirname, join, resolve } from 'node:path';
import { ErrorCodes, UsageError } from '../errors.js';
import { environment, resolveIngestConfig, type Env, type IngestConfig } from './config.js';

export interface ServeConfig {
  /** `--root`, POWERVIEW_DATA_ROOT (required), resolved */
  root: string;
  /** `--hook-secret`, POWERVIEW_HOOK_SECRET (required, at least 16 characters) */
  hookSecret: string;
  /** `--hook-user-map`, POWERVIEW_HOOK_USER_MAP: SFTPGo user → company folder */
  hookUserMap: Map<string, string>;
  /** `--http-addr`, POWERVIEW_HTTP_ADDR; default 127.0.0.1:9464 */
  host: string;
  port: number;
  /** `--settle`, POWERVIEW_SETTLE_SECONDS; default 5 s */
  settleMs: number;
  /** `--stall`, POWERVIEW_STALL_SECONDS; default 600 s, or the settle time when longer */
  stallMs: number;
  /** `--rescan`, POWERVIEW_RESCAN_SECONDS; default 60 s */
  rescanMs: number;
  /** `--drain-timeout`, POWERVIEW_DRAIN_SECONDS; default 30 s */
  drainMs: number;
  /** `--state-dir`, POWERVIEW_STATE_DIR; default <root>/../state */
  stateDir: string;
  /** `--grafana-dir`, POWERVIEW_GRAFANA_DIR; default grafana; null ('') for none */
  grafanaDir: string | null;
  /** `--log-file`; default stderr */
  logFile: string | null;
  /** the pipeline, log level, meta database: as for ingest */
  ingest: Readonly<IngestConfig>;
}

export interface ServeConfigFlags {
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
  metaDb?: string;
  logLevel?: string;
  logFile?: string;
  grafanaDir?: string;
  databaseUrl?: string;
  pgWait?: string;
}

/** `powerview serve`'s settings: flags, then environment (and .env), then defaults; validated once, frozen. */
export function resolveServeConfig(flags: ServeConfigFlags, env: Env = environment()): Readonly<ServeConfig> {
  const rootText = flags.root ?? env.POWERVIEW_DATA_ROOT;
  if (!rootText)
    throw new UsageError(
      '--root / POWERVIEW_DATA_ROOT is required: the folder SFTPGo writes <company>/<campaign>/<device>/ files into',
      ErrorCodes.CONFIG,
    );
  const root = resolve(rootText);
  const hookSecret = flags.hookSecret ?? env.POWERVIEW_HOOK_SECRET;
  if (!hookSecret || hookSecret.length < 16) {
    throw new UsageError(
      '--hook-secret / POWERVIEW_HOOK_SECRET is required, at least 16 characters ' +
        '(SFTPGo sends it as Bearer or basic-auth password)',
      ErrorCodes.CONFIG,
    );
  }
  let hookUserMap: Map<string, string>;
  try {
    hookUserMap = parseUserMap(flags.hookUserMap ?? env.POWERVIEW_HOOK_USER_MAP);
  } catch (err) {
    throw new UsageError(
      `--hook-user-map / POWERVIEW_HOOK_USER_MAP: ${(err as Error).message} (expected user=company,...)`,
      ErrorCodes.CONFIG,
    );
  }
  const { host, port } = parseAddr(flags.httpAddr ?? (env.POWERVIEW_HTTP_ADDR || '127.0.0.1:9464'));
  const settleMs = seconds(
    flags.settle ?? env.POWERVIEW_SETTLE_SECONDS,
    5,
    '--settle / POWERVIEW_SETTLE_SECONDS',
    0.1,
    3600,
  );
  const stallGiven = flags.stall ?? env.POWERVIEW_STALL_SECONDS;
  // by default the stall bound is 600 s, or the settle time when that is longer
  const stallMs =
    stallGiven === undefined
      ? Math.max(600_000, settleMs)
      : seconds(stallGiven, 600, '--stall / POWERVIEW_STALL_SECONDS', 1, 86400);
  if (stallMs < settleMs)
    throw new UsageError('--stall / POWERVIEW_STALL_SECONDS must be at least --settle', ErrorCodes.CONFIG);
  const rescanMs = seconds(
    flags.rescan ?? env.POWERVIEW_RESCAN_SECONDS,
    60,
    '--rescan / POWERVIEW_RESCAN_SECONDS',
    1,
    86400,
  );
  const drainText = flags.drainTimeout ?? env.POWERVIEW_DRAIN_SECONDS;
  const drainMs = seconds(drainText, 30, '--drain-timeout / POWERVIEW_DRAIN_SECONDS', 1, 3600);
  const grafanaDirText = flags.grafanaDir ?? env.POWERVIEW_GRAFANA_DIR;
  return Object.freeze({
    root,
    hookSecret,
    hookUserMap,
    host,
    port,
    settleMs,
    stallMs,
    rescanMs,
    drainMs,
    stateDir: resolve(flags.stateDir ?? (env.POWERVIEW_STATE_DIR || join(dirname(root), 'state'))),
    grafanaDir: grafanaDirText === '' ? null : resolve(grafanaDirText ?? 'grafana'),
    logFile: flags.logFile ? resolve(flags.logFile) : null,
    ingest: resolveIngestConfig({ ...flags, root }, env),
  });
}

/** A number of seconds within [min, max], returned in milliseconds. */
function seconds(text: string | undefined, fallback: number, what: string, min: number, max: number): number {
  if (text === undefined || text === '') return fallback * 1000;
  const v = Number(text);
  if (!Number.isFinite(v) || v < min || v > max)
    throw new UsageError(`${what} must be a number of seconds from ${min} to ${max}, got "${text}"`, ErrorCodes.CONFIG);
  return v * 1000;
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
  // group 1 is the bracketed IPv6 address, undefined for host:port
  const v6 = m[1] as string | undefined;
  return { host: v6 ?? (m[2] || '0.0.0.0'), port };
}

/**
 * `--hook-user-map user=company,...` / POWERVIEW_HOOK_USER_MAP: which company
 * folder an SFTPGo user may upload to when its name is not the folder's.
 */
export function parseUserMap(text: string | undefined): Map<string, string> {
  const map = new Map<string, string>();
  if (!text) return map;
  for (const item of text.split(',')) {
    const pair = item.trim();
    if (!pair) continue;
    const i = pair.indexOf('=');
    const user = i > 0 ? pair.slice(0, i).trim() : '';
    const company = i > 0 ? pair.slice(i + 1).trim() : '';
    if (!user || !company || company.includes('/')) throw new Error(`hook user map: "${pair}" is not user=company`);
    map.set(user, company);
  }
  return map;
}
