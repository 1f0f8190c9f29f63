import { ErrorCodes, StoreError } from '../errors.js';
import { InfluxHttp, quoteIdent, v2Conflict, type Reply } from '../influx/http-api.js';
import { limitHint } from '../influx/writer.js';
import type { TokenVault } from './token-vault.js';

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

function failed(what: string, reply: Reply): StoreError {
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
  const reply = await http.request('POST', `${http.basePath}/query`, new URLSearchParams({ q }).toString(), {
    'content-type': 'application/x-www-form-urlencoded',
  });
  if (reply.status !== 200) throw failed(what, reply);
  return statementError(reply.body);
}

/**
 * The tenant's read credentials, `login` + `password`, which Grafana's InfluxQL
 * datasource uses as user and password — run again, it ends in the same state:
 *  - 1.x: a non-admin user with READ on database `db` only. The statements
 *    travel in a POST body, never in a URL that proxies would log.
 *  - 2.x: see ensureV2Reader.
 *  - 3.x: see ensureV3Reader (`vault` keeps the token Enterprise generates).
 */
export async function ensureInfluxReader(
  http: InfluxHttp,
  db: string,
  login: string,
  password: string,
  vault?: TokenVault,
): Promise<InfluxReaderResult> {
  switch (http.config.api) {
    case 'v2':
      return ensureV2Reader(http, db, login, password);
    case 'v3':
      return vault ? ensureV3Reader(http, db, login, vault) : { user: null, status: 'skipped' };
    case 'v1':
      break;
  }
  const created = await influxql(
    http,
    `CREATE USER ${quoteIdent(login)} WITH PASSWORD ${literal(password)}`,
    `create user ${login}`,
  );
  if (created !== null) {
    if (!/already exists/i.test(created))
      throw new StoreError(ErrorCodes.STORE_REJECTED, `InfluxDB create user ${login}: ${created}`);
    const set = await influxql(
      http,
      `SET PASSWORD FOR ${quoteIdent(login)} = ${literal(password)}`,
      `set password of ${login}`,
    );
    if (set !== null) throw new StoreError(ErrorCodes.STORE_REJECTED, `InfluxDB set password of ${login}: ${set}`);
  }
  const granted = await influxql(
    http,
    `GRANT READ ON ${quoteIdent(db)} TO ${quoteIdent(login)}`,
    `grant read on ${db}`,
  );
  if (granted !== null)
    throw new StoreError(ErrorCodes.STORE_REJECTED, `InfluxDB grant read on ${db} to ${login}: ${granted}`);
  return { user: login, status: 'set' };
}

const LEGACY_AUTHS = '/private/legacy/authorizations';

interface Permission {
  action: string;
  resource: { type: string; id?: string | null; orgID?: string | null; name?: string; org?: string };
}
interface LegacyAuthorization {
  id: string;
  token: string;
  status: 'active' | 'inactive';
  orgID: string;
  permissions: Permission[];
}

/** The reply's body parsed; the caller names the shape InfluxDB documents for it. */
function json(reply: Reply, what: string): unknown {
  try {
    return JSON.parse(reply.body);
  } catch {
    throw new StoreError(ErrorCodes.STORE_REJECTED, `InfluxDB ${what}: not JSON: ${reply.body.slice(0, 200)}`, {
      status: reply.status,
      body: reply.body,
    });
  }
}

/** Exactly one permission: read on this bucket. Anything more (write, other buckets, the whole org) is not ours. */
function readsOnly(auth: LegacyAuthorization, orgID: string, bucketID: string): boolean {
  if (auth.orgID !== orgID || auth.permissions.length !== 1) return false;
  const [p] = auth.permissions;
  return (
    p.action === 'read' &&
    p.resource.type === 'buckets' &&
    p.resource.id === bucketID &&
    (p.resource.orgID ?? orgID) === orgID
  );
}

/**
 * InfluxDB 2.x. Its API tokens are random and shown once, so nothing could
 * hand them to Grafana without storing them; a *v1-compatible authorization*
 * is a token whose name and password we choose — the ones `powerview grafana
 * env` derives — and which the 1.x query API (`/query`, what Grafana's
 * InfluxQL datasource calls) accepts as user and password:
 *  1. the bucket has a DBRP mapping (database = bucket name, `autogen`) —
 *     2.2+ shows a virtual one for every bucket, 2.0–2.1 need it created;
 *  2. the authorization `login` (`/private/legacy/authorizations`, the API of
 *     `influx v1 auth create`) holds exactly `read` on that bucket: created
 *     when missing, replaced when its permissions differ (granted more by
 *     hand, or the bucket was recreated and has a new ID), left inactive when
 *     an operator deactivated it;
 *  3. its password (re)set.
 * The admin token in INFLUX_TOKEN needs write access to authorizations and
 * DBRPs (an operator or all-access token).
 */
async function ensureV2Reader(
  http: InfluxHttp,
  db: string,
  login: string,
  password: string,
): Promise<InfluxReaderResult> {
  const orgID = await http.v2OrgId();
  if (typeof orgID !== 'string') throw failed('look up the organisation', orgID);
  const bucket = await http.v2FindBucket(db);
  if ('status' in bucket) throw failed(`look up bucket ${db}`, bucket);
  if (!('id' in bucket))
    throw new StoreError(ErrorCodes.STORE_REJECTED, `InfluxDB bucket ${db} not found after creating it`);
  const bucketID = bucket.id;
  await ensureDbrp(http, orgID, bucketID, db);

  const base = `${http.basePath}${LEGACY_AUTHS}`;
  const jsonHeaders = { 'content-type': 'application/json' };
  let auth: LegacyAuthorization | undefined;
  // a concurrent provisioner may create the same name between our look and our create (422 conflict): look again
  for (let round = 0; round < 3 && !auth; round++) {
    const listed = await http.request('GET', `${base}?${new URLSearchParams({ token: login })}`);
    // a token filter that matches nothing is a 404 "authorization not found" (v1/authorization/service.go)
    if (listed.status !== 200 && listed.status !== 404) throw failed(`list the authorization ${login}`, listed);
    const found =
      listed.status === 404
        ? undefined
        : ((json(listed, 'authorizations') as { authorizations?: LegacyAuthorization[] }).authorizations ?? []).find(
            (a) => a.token === login,
          );
    if (found && found.orgID !== orgID) {
      // names are unique across the server: this one belongs to another organisation (another deployment?),
      // not ours to replace
      throw new StoreError(
        ErrorCodes.STORE_REJECTED,
        `InfluxDB: the v1 authorization ${login} belongs to another organisation (${found.orgID}); ` +
          'remove it or use that organisation (INFLUX_ORG)',
      );
    }
    if (found && readsOnly(found, orgID, bucketID)) {
      auth = found;
      break;
    }
    if (found) {
      const gone = await http.request('DELETE', `${base}/${encodeURIComponent(found.id)}`);
      if (gone.status !== 204 && gone.status !== 404)
        throw failed(`replace the authorization ${login} (it held more than read on ${db})`, gone);
    }
    const made = await http.request(
      'POST',
      base,
      JSON.stringify({
        orgID,
        token: login,
        status: found?.status ?? 'active',
        description: `PowerView: read-only InfluxQL access to ${db}`,
        permissions: [{ action: 'read', resource: { type: 'buckets', id: bucketID, orgID } }],
      }),
      jsonHeaders,
    );
    // 422 {"code":"conflict","message":"token already exists"} (v1/authorization/error.go ErrTokenAlreadyExistsError;
    // EConflict is 422 on 2.x, kit/transport/http/error_handler.go): someone else's create won, look again
    if (v2Conflict(made)) continue;
    if (made.status !== 201) throw failed(`create the authorization ${login}`, made);
    auth = json(made, 'authorization') as LegacyAuthorization;
  }
  if (!auth)
    throw new StoreError(
      ErrorCodes.STORE_REJECTED,
      `InfluxDB authorization ${login}: changed concurrently three times in a row`,
    );
  const set = await http.request(
    'POST',
    `${base}/${encodeURIComponent(auth.id)}/password`,
    JSON.stringify({ password }),
    jsonHeaders,
  );
  if (set.status !== 204) throw failed(`set the password of ${login}`, set);
  return { user: login, status: auth.status === 'inactive' ? 'inactive' : 'set' };
}

/**
 * InfluxDB 3. Core has admin tokens only: `none`. Enterprise has resource
 * tokens (`POST /api/v3/enterprise/configure/token`, permission
 * `db:<db>:read`), generated by the server and shown once, so the vault keeps
 * it (sealed) for `powerview grafana env`:
 *  - a kept token that still reads the database (`SELECT 1` with it) is kept;
 *  - otherwise (none kept, revoked, sealed under another secret) a token
 *    named `login` is created — any older one of that name deleted first
 *    when the create is refused — and kept.
 * All under the tenant's lock, so two provisioners do not revoke each other's token.
 */
async function ensureV3Reader(
  http: InfluxHttp,
  db: string,
  login: string,
  vault: TokenVault,
): Promise<InfluxReaderResult> {
  const base = http.basePath;
  const jsonHeaders = { 'content-type': 'application/json' };
  return vault.withTenant(db, async (slot) => {
    const kept = await slot.get();
    if (kept !== null) {
      const probe = await http.request(
        'POST',
        `${base}/api/v3/query_sql`,
        JSON.stringify({ db, q: 'SELECT 1', format: 'json' }),
        {
          ...jsonHeaders,
          authorization: `Bearer ${kept}`,
        },
      );
      if (probe.status === 200) return { user: login, status: 'set' as const };
      if (probe.status !== 401 && probe.status !== 403) throw failed(`check the read token ${login}`, probe);
    }
    const body = JSON.stringify({
      token_name: login,
      permissions: [{ resource_type: 'db', resource_identifier: [db], actions: ['read'] }],
    });
    let made = await http.request('POST', `${base}/api/v3/enterprise/configure/token`, body, jsonHeaders);
    if (made.status === 404) return { user: null, status: 'none' as const }; // Core: no resource tokens
    if (made.status !== 201 && made.status !== 200) {
      // most likely a token of that name whose string we no longer have: revoke it, create again
      const gone = await http.request(
        'DELETE',
        `${base}/api/v3/configure/token?${new URLSearchParams({ token_name: login })}`,
      );
      if (gone.status >= 300 && gone.status !== 404) throw failed(`delete the stale read token ${login}`, gone);
      made = await http.request('POST', `${base}/api/v3/enterprise/configure/token`, body, jsonHeaders);
      if (made.status !== 201 && made.status !== 200) throw failed(`create the read token ${login}`, made);
    }
    const token = (json(made, 'read token') as { token?: string }).token;
    if (!token)
      throw new StoreError(ErrorCodes.STORE_REJECTED, `InfluxDB create the read token ${login}: no token in the reply`);
    await slot.put(login, token);
    return { user: login, status: 'set' as const };
  });
}

/** A DBRP mapping for `db` (database = bucket name, default retention policy `autogen`): 2.2+ lists a virtual one. */
async function ensureDbrp(http: InfluxHttp, orgID: string, bucketID: string, db: string): Promise<void> {
  const base = `${http.basePath}/api/v2/dbrps`;
  const listed = await http.request('GET', `${base}?${new URLSearchParams({ orgID, db })}`);
  if (listed.status !== 200) throw failed(`list the DBRP mappings of ${db}`, listed);
  const mappings =
    (json(listed, 'DBRP mappings') as { content?: Array<{ database: string; bucketID: string; default: boolean }> })
      .content ?? [];
  const mine = mappings.filter((m) => m.database === db);
  if (mine.some((m) => m.bucketID === bucketID)) return;
  if (mine.length > 0) {
    throw new StoreError(
      ErrorCodes.STORE_REJECTED,
      `InfluxDB: database "${db}" is mapped (DBRP) to another bucket than the tenant's (${bucketID}); ` +
        `remove that mapping (influx v1 dbrp list --db ${db})`,
    );
  }
  const made = await http.request(
    'POST',
    base,
    JSON.stringify({ orgID, bucketID, database: db, retention_policy: 'autogen', default: true }),
    { 'content-type': 'application/json' },
  );
  if (v2Conflict(made)) {
    // 422 {"code":"conflict","message":"another DBRP mapping with same orgID, db, and rp exists"} (dbrp/service.go
    // isDBRPUnique → dbrp/error.go ErrDBRPAlreadyExists, EConflict → 422): a concurrent provisioner made it;
    // if it is ours, fine
    const again = await http.request('GET', `${base}?${new URLSearchParams({ orgID, db })}`);
    const now =
      again.status === 200
        ? ((json(again, 'DBRP mappings') as { content?: Array<{ database: string; bucketID: string }> }).content ?? [])
        : [];
    if (now.some((m) => m.database === db && m.bucketID === bucketID)) return;
  }
  if (made.status !== 201 && made.status !== 200) throw failed(`create the DBRP mapping of ${db}`, made);
}

/** Creates the tenant's database (v1, v3) or bucket (v2) when missing. */
export async function ensureInfluxDatabase(http: InfluxHttp, db: string): Promise<void> {
  const reply = await http.createDatabase(db);
  if (reply.status >= 300) throw failed(`create database ${db}`, reply);
}
