import pg from 'pg';
import type { PgConfig } from './config.js';

export interface PoolOptions {
  /** Connections at most. Default: 4. */
  max?: number;
  /** Shown in pg_stat_activity. Default: `powerview`. */
  applicationName?: string;
  /** How long to wait for a connection before failing. Default: 10 000 ms. */
  connectionTimeoutMillis?: number;
}

/** TLS settings for node-postgres from a libpq `sslmode`. */
export function sslOf(config: PgConfig): pg.PoolConfig['ssl'] {
  switch (config.sslMode) {
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      // the chain is checked, the host name is not (libpq's verify-ca)
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true };
    default:
      // disable, allow, prefer: node-postgres does not negotiate, so no TLS
      return false;
  }
}

/**
 * A pg.Pool for `config`. An idle client that loses its connection emits
 * 'error' on the pool; that must not crash the process (the next query gets a
 * fresh connection and reports its own error), so the pool swallows it.
 */
export function createPool(config: PgConfig, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    ...clientConfigOf(config),
    max: options.max ?? 4,
    application_name: options.applicationName ?? 'powerview',
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 10_000,
  });
  pool.on('error', () => {});
  return pool;
}

/** Connection settings of one client (a dedicated session, outside any pool). */
export function clientConfigOf(config: PgConfig): pg.ClientConfig {
  return {
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password,
    database: config.database,
    ssl: sslOf(config),
  };
}

export interface TransactionOptions {
  /** Called when the ROLLBACK after a failure fails too (the connection is likely gone: release it broken). */
  onRollbackError?: (err: unknown) => void;
}

/**
 * Runs `fn` inside BEGIN … COMMIT on `client`. When `fn` or the COMMIT fails,
 * the transaction is rolled back and the first error rethrown: a ROLLBACK that
 * fails as well (lost connection) is reported to `onRollbackError`, never in
 * place of the cause.
 */
export async function withTransaction<C extends pg.ClientBase, T>(
  client: C,
  fn: (client: C) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: unknown) => options.onRollbackError?.(rollbackErr));
    throw err;
  }
}
