import { ErrorCodes, StoreError } from '../errors.js';
import { v2Conflict } from '../influx/api-v2.js';
import type { InfluxHttp } from '../influx/http-api.js';
import type { InfluxTransport, Reply } from '../influx/transport.js';
import { failed, json, type InfluxReaderResult } from './influx-failure.js';

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

/** Where the v1-compatible authorization goes: the organisation, and the tenant's bucket. */
interface Target {
  orgID: string;
  bucketID: string;
  db: string;
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
export async function ensureV2Reader(
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
  const target = { orgID, bucketID: bucket.id, db };
  await ensureDbrp(http, target);
  const auth = await readAuthorization(http, target, login);
  const set = await http.postJson(`${http.basePath}${LEGACY_AUTHS}/${encodeURIComponent(auth.id)}/password`, {
    password,
  });
  if (set.status !== 204) throw failed(`set the password of ${login}`, set);
  return { user: login, status: auth.status === 'inactive' ? 'inactive' : 'set' };
}

/** Exactly one permission: read on this bucket. Anything more (write, other buckets, the whole org) is not ours. */
function readsOnly(auth: LegacyAuthorization, { orgID, bucketID }: Target): boolean {
  if (auth.orgID !== orgID || auth.permissions.length !== 1) return false;
  const [p] = auth.permissions;
  return (
    p.action === 'read' &&
    p.resource.type === 'buckets' &&
    p.resource.id === bucketID &&
    (p.resource.orgID ?? orgID) === orgID
  );
}

/** The authorization `login`, holding read on the bucket only: as found, or made so. */
async function readAuthorization(http: InfluxTransport, target: Target, login: string): Promise<LegacyAuthorization> {
  // a concurrent provisioner may create the same name between our look and our create (422 conflict): look again
  for (let round = 0; round < 3; round++) {
    const auth = await lookThenCreate(http, target, login);
    if (auth) return auth;
  }
  throw new StoreError(
    ErrorCodes.STORE_REJECTED,
    `InfluxDB authorization ${login}: changed concurrently three times in a row`,
  );
}

/** The authorization `login` of the server, or undefined. */
async function findAuthorization(http: InfluxTransport, login: string): Promise<LegacyAuthorization | undefined> {
  const listed = await http.request('GET', `${http.basePath}${LEGACY_AUTHS}?${new URLSearchParams({ token: login })}`);
  // a token filter that matches nothing is a 404 "authorization not found" (v1/authorization/service.go)
  if (listed.status === 404) return undefined;
  if (listed.status !== 200) throw failed(`list the authorization ${login}`, listed);
  const { authorizations } = json(listed, 'authorizations') as { authorizations?: LegacyAuthorization[] };
  return (authorizations ?? []).find((a) => a.token === login);
}

/**
 * One round: the authorization when it is ours as it is, or once created (a wrong one deleted first); null when
 * someone else's create won meanwhile.
 */
async function lookThenCreate(
  http: InfluxTransport,
  target: Target,
  login: string,
): Promise<LegacyAuthorization | null> {
  const { orgID, bucketID, db } = target;
  const base = `${http.basePath}${LEGACY_AUTHS}`;
  const found = await findAuthorization(http, login);
  if (found && found.orgID !== orgID) {
    // names are unique across the server: this one belongs to another organisation (another deployment?),
    // not ours to replace
    throw new StoreError(
      ErrorCodes.STORE_REJECTED,
      `InfluxDB: the v1 authorization ${login} belongs to another organisation (${found.orgID}); ` +
        'remove it or use that organisation (INFLUX_ORG)',
    );
  }
  if (found && readsOnly(found, target)) return found;
  if (found) {
    const gone = await http.request('DELETE', `${base}/${encodeURIComponent(found.id)}`);
    if (gone.status !== 204 && gone.status !== 404)
      throw failed(`replace the authorization ${login} (it held more than read on ${db})`, gone);
  }
  const made = await http.postJson(base, {
    orgID,
    token: login,
    status: found?.status ?? 'active',
    description: `PowerView: read-only InfluxQL access to ${db}`,
    permissions: [{ action: 'read', resource: { type: 'buckets', id: bucketID, orgID } }],
  });
  // 422 {"code":"conflict","message":"token already exists"} (v1/authorization/error.go ErrTokenAlreadyExistsError;
  // EConflict is 422 on 2.x, kit/transport/http/error_handler.go): someone else's create won, look again
  if (v2Conflict(made)) return null;
  if (made.status !== 201) throw failed(`create the authorization ${login}`, made);
  return json(made, 'authorization') as LegacyAuthorization;
}

interface Dbrp {
  database: string;
  bucketID: string;
}

/** The DBRP mappings of `db`: the reply, and the mappings when it is a 200. */
async function dbrps(http: InfluxTransport, { orgID, db }: Target): Promise<{ reply: Reply; mappings: Dbrp[] }> {
  const reply = await http.request('GET', `${http.basePath}/api/v2/dbrps?${new URLSearchParams({ orgID, db })}`);
  const mappings = reply.status === 200 ? ((json(reply, 'DBRP mappings') as { content?: Dbrp[] }).content ?? []) : [];
  return { reply, mappings: mappings.filter((m) => m.database === db) };
}

/** A DBRP mapping for `db` (database = bucket name, default retention policy `autogen`): 2.2+ lists a virtual one. */
async function ensureDbrp(http: InfluxTransport, target: Target): Promise<void> {
  const { orgID, bucketID, db } = target;
  const listed = await dbrps(http, target);
  if (listed.reply.status !== 200) throw failed(`list the DBRP mappings of ${db}`, listed.reply);
  if (listed.mappings.some((m) => m.bucketID === bucketID)) return;
  if (listed.mappings.length > 0) {
    throw new StoreError(
      ErrorCodes.STORE_REJECTED,
      `InfluxDB: database "${db}" is mapped (DBRP) to another bucket than the tenant's (${bucketID}); ` +
        `remove that mapping (influx v1 dbrp list --db ${db})`,
    );
  }
  const made = await http.postJson(`${http.basePath}/api/v2/dbrps`, {
    orgID,
    bucketID,
    database: db,
    retention_policy: 'autogen',
    default: true,
  });
  if (v2Conflict(made)) {
    // 422 {"code":"conflict","message":"another DBRP mapping with same orgID, db, and rp exists"} (dbrp/service.go
    // isDBRPUnique → dbrp/error.go ErrDBRPAlreadyExists, EConflict → 422): a concurrent provisioner made it;
    // if it is ours, fine
    if ((await dbrps(http, target)).mappings.some((m) => m.bucketID === bucketID)) return;
  }
  if (made.status !== 201 && made.status !== 200) throw failed(`create the DBRP mapping of ${db}`, made);
}
