import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ErrorCodes, UsageError } from '../errors.js';
import { parseLogLevel, type LogLevel } from '../log/logger.js';
import { DEFAULT_V002_TIME_ZONE, TimeZoneRules } from '../tsv/timezone.js';

/** The environment as the commands see it: read once (after `.env`), frozen. */
export type Env = Readonly<Record<string, string | undefined>>;

let snapshot: Env | null = null;

/** Loads `.env` from the working directory when present (real environment wins). */
export function loadDotEnv(path = '.env'): void {
  snapshot = null;
  if (!existsSync(path)) return;
  const before = { ...process.env };
  process.loadEnvFile(path);
  for (const [k, v] of Object.entries(before)) process.env[k] = v;
}

/**
 * The one place commands read the environment from: a frozen copy taken on first use, so a
 * variable means the same thing for the whole run whoever asks (docs/architecture.md).
 */
export function environment(): Env {
  snapshot ??= Object.freeze({ ...process.env });
  return snapshot;
}

export interface IngestConfig {
  /** `--root`, POWERVIEW_DATA_ROOT; absent: inferred from the paths */
  dataRoot?: string;
  /** `--v002-timezone`, POWERVIEW_V002_TIMEZONE; default Europe/Paris */
  v002TimeZone: string;
  /** `--workers`, POWERVIEW_WORKERS; default the number of cores */
  workers: number;
  /** `--block-size`; default 256 KiB */
  blockBytes: number;
  /** `--log-level`, POWERVIEW_LOG_LEVEL; default info */
  logLevel: LogLevel;
  /** `--meta-db`, POWERVIEW_META_DB; default powerview_meta; '' for none */
  metaDb: string;
  /** `--report-dir`, POWERVIEW_REPORT_DIR (resolved); absent: <root>/../logs/reports */
  reportDir?: string;
  /** a PostgreSQL configured: `--database-url`, DATABASE_URL or one of PGHOST, PGDATABASE, PGUSER */
  postgresConfigured: boolean;
  /** `--pg-wait`, POWERVIEW_PG_WAIT_SECONDS, in ms; null: the InfluxDB store wait */
  postgresWaitMs: number | null;
}

export interface IngestConfigFlags {
  root?: string;
  v002Timezone?: string;
  workers?: string;
  blockSize?: string;
  logLevel?: string;
  metaDb?: string;
  reportDir?: string;
  databaseUrl?: string;
  pgWait?: string;
}

/** Precedence: flags, then environment (and .env), then defaults. Frozen once validated. */
export function resolveIngestConfig(flags: IngestConfigFlags, env: Env = environment()): Readonly<IngestConfig> {
  const zone = flags.v002Timezone ?? env.POWERVIEW_V002_TIMEZONE ?? DEFAULT_V002_TIME_ZONE;
  if (!TimeZoneRules.isValid(zone)) {
    throw new UsageError(
      `--v002-timezone / POWERVIEW_V002_TIMEZONE: unknown time zone "${zone}" ` +
        '(use an IANA name such as Europe/Paris, or UTC)',
      ErrorCodes.TIMEZONE,
    );
  }
  const workers = integer(
    flags.workers ?? env.POWERVIEW_WORKERS,
    availableParallelism(),
    '--workers / POWERVIEW_WORKERS',
    0,
    256,
  );
  let blockBytes = 256 * 1024;
  if (flags.blockSize !== undefined) {
    blockBytes = Number(flags.blockSize);
    if (!Number.isInteger(blockBytes) || blockBytes < 1) {
      throw new UsageError(
        `--block-size must be a positive number of bytes, got "${flags.blockSize}"`,
        ErrorCodes.CONFIG,
      );
    }
  }
  const reportDir = flags.reportDir ?? (env.POWERVIEW_REPORT_DIR || undefined);
  const pgWait = flags.pgWait ?? (env.POWERVIEW_PG_WAIT_SECONDS || undefined);
  return Object.freeze({
    dataRoot: flags.root ?? (env.POWERVIEW_DATA_ROOT || undefined),
    v002TimeZone: zone,
    workers,
    blockBytes,
    logLevel: parseLogLevel(flags.logLevel ?? env.POWERVIEW_LOG_LEVEL),
    metaDb: flags.metaDb ?? (env.POWERVIEW_META_DB || 'powerview_meta'),
    ...(reportDir ? { reportDir: resolve(reportDir) } : {}),
    postgresConfigured:
      flags.databaseUrl !== undefined ||
      Boolean(env.DATABASE_URL) ||
      ['PGHOST', 'PGDATABASE', 'PGUSER'].some((k) => env[k]),
    postgresWaitMs:
      pgWait === undefined ? null : integer(pgWait, 0, '--pg-wait / POWERVIEW_PG_WAIT_SECONDS', 1, 7 * 86400) * 1000,
  });
}

/** Where reports go: the configured folder, else <root>/../logs/reports (root: the files' data root). */
export function reportDirOf(config: Readonly<IngestConfig>, root: string | undefined): string {
  if (config.reportDir) return config.reportDir;
  return root ? join(dirname(resolve(root)), 'logs', 'reports') : resolve('logs', 'reports');
}

function integer(text: string | undefined, fallback: number, what: string, min: number, max: number): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${what} must be an integer from ${min} to ${max}, got "${text}"`, ErrorCodes.CONFIG);
  return n;
}
