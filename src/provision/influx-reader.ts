import { ErrorCodes, StoreError } from '../errors.js';
import { InfluxHttp, quoteIdent, type Reply } from '../influx/http-api.js';

/** What became of a tenant's InfluxDB read credentials. */
export interface InfluxReaderResult {
  user: string | null;
  /**
   * `set`: v1 user with READ on the tenant's database, password set (idempotent);
   * `skipped`: no POWERVIEW_TENANT_SECRET;
   * `manual`: InfluxDB 2.x — its tokens cannot be chosen, see README (v1 compatibility authorization);
   * `none`: InfluxDB 3 Core has no per-database read tokens.
   */
  status: 'set' | 'skipped' | 'manual' | 'none';
}

function failed(what: string, reply: Reply): StoreError {
  const code = reply.status === 401 || reply.status === 403 ? ErrorCodes.STORE_AUTH : ErrorCodes.STORE_REJECTED;
  return new StoreError(code, `InfluxDB ${what}: HTTP ${reply.status} ${reply.body.slice(0, 300)}`, { status: reply.status, body: reply.body });
}

/** The error of the first statement of an InfluxQL reply, or null. */
function statementError(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { error?: string; results?: Array<{ error?: string }> };
    return parsed.error ?? parsed.results?.find((r) => r.error)?.error ?? null;
  } catch {
    return null;
  }
}

/** InfluxQL string literal: the password is base64url, but quote it properly anyway. */
const literal = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

async function influxql(http: InfluxHttp, q: string, what: string): Promise<string | null> {
  const base = new URL(http.config.url).pathname.replace(/\/+$/, '');
  const reply = await http.request('POST', `${base}/query`, new URLSearchParams({ q }).toString(), {
    'content-type': 'application/x-www-form-urlencoded',
  });
  if (reply.status !== 200) throw failed(what, reply);
  return statementError(reply.body);
}

/**
 * InfluxDB 1.x: a non-admin user `login` with READ on database `db` only, its
 * password (re)set — run again, it ends in the same state. The statements
 * travel in a POST body, never in a URL that proxies would log.
 */
export async function ensureInfluxReader(http: InfluxHttp, db: string, login: string, password: string): Promise<InfluxReaderResult> {
  switch (http.config.api) {
    case 'v2':
      return { user: login, status: 'manual' };
    case 'v3':
      return { user: null, status: 'none' };
    case 'v1':
      break;
  }
  const created = await influxql(http, `CREATE USER ${quoteIdent(login)} WITH PASSWORD ${literal(password)}`, `create user ${login}`);
  if (created !== null) {
    if (!/already exists/i.test(created)) throw new StoreError(ErrorCodes.STORE_REJECTED, `InfluxDB create user ${login}: ${created}`);
    const set = await influxql(http, `SET PASSWORD FOR ${quoteIdent(login)} = ${literal(password)}`, `set password of ${login}`);
    if (set !== null) throw new StoreError(ErrorCodes.STORE_REJECTED, `InfluxDB set password of ${login}: ${set}`);
  }
  const granted = await influxql(http, `GRANT READ ON ${quoteIdent(db)} TO ${quoteIdent(login)}`, `grant read on ${db}`);
  if (granted !== null) throw new StoreError(ErrorCodes.STORE_REJECTED, `InfluxDB grant read on ${db} to ${login}: ${granted}`);
  return { user: login, status: 'set' };
}

/** Creates the tenant's database (v1, v3) or bucket (v2) when missing. */
export async function ensureInfluxDatabase(http: InfluxHttp, db: string): Promise<void> {
  const reply = await http.createDatabase(db);
  if (reply.status >= 300) throw failed(`create database ${db}`, reply);
}
