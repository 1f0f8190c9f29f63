import { ErrorCodes, StoreError } from '../errors.js';
import { limitHint } from '../influx/rejection.js';
import type { Reply } from '../influx/transport.js';

/** What became of a tenant's InfluxDB read credentials. */
export interface InfluxReaderResult {
  user: string | null;
  /**
   * `set`: 1.x user with READ on the tenant's database, or 2.x v1-compatible
   *   authorization with read on the tenant's bucket; password set (idempotent);
   * `inactive`: 2.x authorization deactivated by an operator — left so (password still set);
   * `skipped`: no POWERVIEW_TENANT_SECRET;
   * `failed`: InfluxDB refused (rights, conflicting objects): the rest is provisioned, a warning says why;
   * `none`: InfluxDB 3 Core has no per-database read tokens (3 Enterprise: `set`, a resource token).
   */
  status: 'set' | 'inactive' | 'skipped' | 'none' | 'failed';
}

/** A provisioning request InfluxDB did not grant: whose fault it is by status, and the server's words. */
export function failed(what: string, reply: Reply): StoreError {
  const code =
    reply.status === 401 || reply.status === 403
      ? ErrorCodes.STORE_AUTH
      : reply.status >= 500 || reply.status === 429
        ? ErrorCodes.STORE_UNAVAILABLE
        : ErrorCodes.STORE_REJECTED;
  // a limit of InfluxDB 3 (the database limit at provisioning): say what to do about it
  return new StoreError(
    code,
    `InfluxDB ${what}: HTTP ${reply.status} ${reply.body.slice(0, 300)}${limitHint(reply.body)}`,
    { status: reply.status, body: reply.body },
  );
}

/** The reply's body parsed; the caller names the shape InfluxDB documents for it. */
export function json(reply: Reply, what: string): unknown {
  try {
    return JSON.parse(reply.body);
  } catch {
    throw new StoreError(ErrorCodes.STORE_REJECTED, `InfluxDB ${what}: not JSON: ${reply.body.slice(0, 200)}`, {
      status: reply.status,
      body: reply.body,
    });
  }
}

/** A statement the server answered with an error (`error` null: it did not): STORE_REJECTED. */
export function refusedStatement(what: string, error: string | null): void {
  if (error !== null) throw new StoreError(ErrorCodes.STORE_REJECTED, `InfluxDB ${what}: ${error}`);
}
