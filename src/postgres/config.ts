import { userInfo } from 'node:os';
import { ErrorCodes, UsageError } from '../errors.js';

/** How strictly TLS is used, with libpq's names (`sslmode`). */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/**
 * Where PowerView's PostgreSQL is. Frozen; `password` is not enumerable, so
 * logging or JSON-printing the config never shows it.
 */
export interface PgConfig {
  /** Host name, IP address, or a Unix socket directory (starts with `/`). */
  readonly host: string;
  /** Default: 5432. */
  readonly port: number;
  readonly user: string;
  readonly password?: string;
  readonly database: string;
  /** Default: `prefer`, which node-postgres treats as `disable` (it does not fall back). */
  readonly sslMode: SslMode;
  /** Where the settings came from, for messages: `--database-url`, `DATABASE_URL` or `PG*`. */
  readonly source: '--database-url' | 'DATABASE_URL' | 'PG*';
}

export interface PgFlags {
  databaseUrl?: string;
}

const PG_VARS = ['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSSLMODE'] as const;

/**
 * Precedence: `--database-url`, then `DATABASE_URL`, then the libpq `PG*`
 * variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE) with
 * libpq's defaults for the ones left out (localhost, 5432, the OS user, a
 * database named like the user). With none of these set, there is no
 * database to talk to: a UsageError, not a silent guess.
 */
export function resolvePgConfig(flags: PgFlags = {}, env: NodeJS.ProcessEnv = process.env): PgConfig {
  if (flags.databaseUrl !== undefined) return fromUrl(flags.databaseUrl, '--database-url');
  if (env.DATABASE_URL) return fromUrl(env.DATABASE_URL, 'DATABASE_URL');
  if (!PG_VARS.some((k) => env[k])) {
    throw new UsageError(
      'no PostgreSQL configured: set DATABASE_URL (postgres://user:password@host:port/database), ' +
        'pass --database-url, or set the PG* variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE)',
      ErrorCodes.CONFIG,
    );
  }
  const user = env.PGUSER || osUser();
  return build({
    host: env.PGHOST || 'localhost',
    port: parsePort(env.PGPORT, 'PGPORT'),
    user,
    password: env.PGPASSWORD || undefined,
    database: env.PGDATABASE || user,
    sslMode: parseSslMode(env.PGSSLMODE, 'PGSSLMODE'),
    source: 'PG*',
  });
}

function fromUrl(text: string, source: '--database-url' | 'DATABASE_URL'): PgConfig {
  const expected = `${source} must be a URL like postgres://user:password@host:5432/database`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // never echo the text: it may hold a password
    throw new UsageError(`${expected} (it is not a valid URL)`, ErrorCodes.CONFIG);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new UsageError(
      `${expected} (the scheme is ${JSON.stringify(url.protocol.replace(/:$/, ''))})`,
      ErrorCodes.CONFIG,
    );
  }
  const decode = (s: string, what: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new UsageError(`${source}: the ${what} is not valid percent-encoding`, ErrorCodes.CONFIG);
    }
  };
  const params = url.searchParams;
  const host = params.get('host') || decode(url.hostname, 'host').replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new UsageError(`${expected} (no host)`, ErrorCodes.CONFIG);
  const user = decode(url.username, 'user name') || osUser();
  const database = decode(url.pathname.replace(/^\//, ''), 'database name') || user;
  if (database.includes('/'))
    throw new UsageError(`${source}: the database name cannot contain '/'`, ErrorCodes.CONFIG);
  return build({
    host,
    port: parsePort(url.port || params.get('port') || undefined, `${source} port`),
    user,
    password: url.password ? decode(url.password, 'password') : undefined,
    database,
    sslMode: parseSslMode(params.get('sslmode') ?? undefined, `${source} sslmode`),
    source,
  });
}

function build(c: {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  sslMode: SslMode;
  source: PgConfig['source'];
}): PgConfig {
  const config = {
    host: c.host,
    port: c.port,
    user: c.user,
    database: c.database,
    sslMode: c.sslMode,
    source: c.source,
  };
  Object.defineProperty(config, 'password', { value: c.password, enumerable: false });
  return Object.freeze(config);
}

function parsePort(text: string | undefined, what: string): number {
  if (text === undefined || text === '') return 5432;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new UsageError(
      `${what} must be a port number from 1 to 65535, got ${JSON.stringify(text)}`,
      ErrorCodes.CONFIG,
    );
  }
  return port;
}

function parseSslMode(text: string | undefined, what: string): SslMode {
  if (text === undefined || text === '') return 'prefer';
  if (!(SSL_MODES as readonly string[]).includes(text)) {
    throw new UsageError(
      `${what} must be one of ${SSL_MODES.join(', ')}, got ${JSON.stringify(text)}`,
      ErrorCodes.CONFIG,
    );
  }
  return text as SslMode;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'postgres';
  }
}

/** `postgres://user@host:port/database`, for messages and reports: never the password. */
export function describePg(config: PgConfig): string {
  const host = config.host.startsWith('/')
    ? `[socket ${config.host}]`
    : config.host.includes(':')
      ? `[${config.host}]`
      : config.host;
  return `postgres://${encodeURIComponent(config.user)}@${host}:${config.port}/${encodeURIComponent(config.database)}`;
}
