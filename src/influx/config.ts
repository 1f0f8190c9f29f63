import { ErrorCodes, UsageError } from '../errors.js';

export type InfluxApi = 'v1' | 'v2' | 'v3';

/** Where and how line protocol is written. Every option is documented with its default. */
export interface InfluxConfig {
  /** base URL, `INFLUX_URL`; default http://127.0.0.1:8086 */
  url: string;
  /** write API, `INFLUX_API`: v1 `/write`, v2 `/api/v2/write`, v3 `/api/v3/write_lp`; default v1 */
  api: InfluxApi;
  /** `INFLUX_TOKEN`: v2 `Authorization: Token`, v3 `Bearer`, v1 `Token` (1.8+/3.x compatibility) */
  token?: string;
  /** `INFLUX_ORG`: v2 organisation (required for v2) */
  org?: string;
  /** `INFLUX_USERNAME` / `INFLUX_PASSWORD`: v1 basic authentication */
  username?: string;
  password?: string;
  /** lines per batch; default 5,000 */
  batchLines: number;
  /** bytes per batch (before gzip); default 4 MB */
  batchBytes: number;
  /** gzip request bodies; default off (`--gzip`, `INFLUX_GZIP=1`) */
  gzip: boolean;
  /** write requests in flight at once; default 4 */
  concurrency: number;
  /**
   * how long one batch keeps retrying a store that is down before its files fail as "store unavailable"; default 600 s
   */
  storeWaitMs: number;
  /** one request's time limit (connect to full reply); default 60 s */
  requestTimeoutMs: number;
}

export interface InfluxFlags {
  influxUrl?: string;
  influxApi?: string;
  influxOrg?: string;
  influxUsername?: string;
  /** secrets on a command line show in the process list: the environment (or .env) is the better place */
  influxToken?: string;
  influxPassword?: string;
  batchLines?: string;
  batchBytes?: string;
  gzip?: boolean;
  concurrency?: string;
  storeWait?: string;
}

function positiveInt(text: string | undefined, fallback: number, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${what} must be an integer from 1 to ${max}, got "${text}"`, ErrorCodes.CONFIG);
  }
  return n;
}

/** `--influx-api`, else INFLUX_API, else v1; anything else is a configuration error. */
export function resolveInfluxApi(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): InfluxApi {
  const api = (flag ?? (env.INFLUX_API || 'v1')) as InfluxApi;
  if (!['v1', 'v2', 'v3'].includes(api)) {
    throw new UsageError(`--influx-api / INFLUX_API must be v1, v2 or v3, got "${api}"`, ErrorCodes.CONFIG);
  }
  return api;
}

/** INFLUX_URL: an http(s) URL without credentials (shown without them in the error). */
function parseInfluxUrl(url: string): URL {
  const shown = url.replace(/\/\/[^/@]*@/, '//***@');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--influx-url / INFLUX_URL is not a URL: "${shown}"`, ErrorCodes.CONFIG);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--influx-url / INFLUX_URL must be http(s)://, got "${shown}"`, ErrorCodes.CONFIG);
  }
  if (parsed.username || parsed.password) {
    throw new UsageError(
      'INFLUX_URL must not carry credentials: use INFLUX_USERNAME/INFLUX_PASSWORD or INFLUX_TOKEN',
      ErrorCodes.CONFIG,
    );
  }
  return parsed;
}

/** Flags, then environment (and .env), then defaults; validated once, frozen. */
export function resolveInfluxConfig(flags: InfluxFlags, env: NodeJS.ProcessEnv = process.env): Readonly<InfluxConfig> {
  const parsed = parseInfluxUrl(flags.influxUrl ?? (env.INFLUX_URL || 'http://127.0.0.1:8086'));
  const api = resolveInfluxApi(flags.influxApi, env);
  const token = flags.influxToken ?? (env.INFLUX_TOKEN || undefined);
  const org = flags.influxOrg ?? (env.INFLUX_ORG || undefined);
  const username = flags.influxUsername ?? (env.INFLUX_USERNAME || undefined);
  const password = flags.influxPassword ?? (env.INFLUX_PASSWORD || undefined);
  if (api === 'v2' && !org)
    throw new UsageError('INFLUX_API=v2 needs INFLUX_ORG (the organisation owning the buckets)', ErrorCodes.CONFIG);
  if ((api === 'v2' || api === 'v3') && !token)
    throw new UsageError(`INFLUX_API=${api} needs INFLUX_TOKEN`, ErrorCodes.CONFIG);
  if (api === 'v1' && (username === undefined) !== (password === undefined)) {
    throw new UsageError('INFLUX_USERNAME and INFLUX_PASSWORD go together', ErrorCodes.CONFIG);
  }
  const gzipEnv = env.INFLUX_GZIP;
  const gzip = flags.gzip ?? (gzipEnv === '1' || gzipEnv === 'true');
  return Object.freeze({
    url: parsed.origin + parsed.pathname.replace(/\/+$/, ''),
    api,
    token,
    org,
    username,
    password,
    batchLines: positiveInt(
      flags.batchLines ?? env.INFLUX_BATCH_LINES,
      5000,
      '--batch-lines / INFLUX_BATCH_LINES',
      1_000_000,
    ),
    batchBytes: positiveInt(
      flags.batchBytes ?? env.INFLUX_BATCH_BYTES,
      4_000_000,
      '--batch-bytes / INFLUX_BATCH_BYTES',
      256 << 20,
    ),
    gzip,
    concurrency: positiveInt(flags.concurrency ?? env.INFLUX_CONCURRENCY, 4, '--concurrency / INFLUX_CONCURRENCY', 64),
    storeWaitMs:
      positiveInt(
        flags.storeWait ?? env.POWERVIEW_STORE_WAIT,
        600,
        '--store-wait / POWERVIEW_STORE_WAIT (seconds)',
        7 * 86400,
      ) * 1000,
    requestTimeoutMs: 60_000,
  });
}

/** Company and campaign names become database, bucket, tag and (later) role names. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function isSafeTenantName(name: string): boolean {
  return SAFE_NAME.test(name) && !name.includes('..');
}

/**
 * InfluxDB 3's database names (influxdb3_server/src/http.rs validate_db_name, 3.0–3.10): ASCII letters, digits,
 * '_' and '-', starting with a letter or digit; at most 64 characters up to 3.9 (NamespaceName /
 * MAXIMUM_DATABASE_NAME_LENGTH),
 * 511 from 3.10. Our own limit, 63, is below both. A '.' works as a 1.x database or 2.x bucket name, not on 3.x:
 * 3.2+ refuse to create it (400), 3.0–3.1 create it and then refuse every write to it.
 */
const V3_DATABASE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/**
 * Why `name` cannot serve as a company (a database or bucket, a tag, a role) or campaign (a tag, a role), or null.
 * With `api`, the rule of that store too: a company is a database name, and InfluxDB 3 takes fewer characters.
 */
export function tenantNameProblem(kind: 'company' | 'campaign', name: string, api?: InfluxApi): string | null {
  if (!isSafeTenantName(name)) {
    return (
      `${kind} name ${JSON.stringify(name)} is not a safe identifier: use letters, digits, '_', '-' or '.', ` +
      `starting with a letter or digit, at most 63 characters`
    );
  }
  if (kind === 'company' && api === 'v3' && !V3_DATABASE_NAME.test(name)) {
    return (
      `company name ${JSON.stringify(name)} cannot be an InfluxDB 3 database name: InfluxDB 3 takes ASCII letters, ` +
      `digits, '_' and '-' ` +
      `only (no '.'), starting with a letter or digit (InfluxDB 1.x and 2.x accept it). Rename the company folder ` +
      `(e.g. ${JSON.stringify(name.replace(/[^A-Za-z0-9_-]/g, '-'))}) before its files are ingested`
    );
  }
  return null;
}
