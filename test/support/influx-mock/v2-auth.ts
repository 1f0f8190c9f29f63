/**
 * InfluxDB 2.x's v1 compatibility objects in the stand-in: the v1-compatible
 * authorizations of `influx v1 auth` (`/private/legacy/authorizations`), which
 * the 1.x `/query` and `/write` accept as user and password, and the DBRP
 * mappings (`/api/v2/dbrps`) that take InfluxQL's database to a bucket.
 *
 *  [v2-legacy]  influxdata/influxdb v2.0.0–v2.7.x v1/authorization/http_server.go, service.go, error.go, authorizer.go:
 *               GET /private/legacy/authorizations?token=|id=|orgID= → 200 {links, authorizations[]} (service.go: a token
 *               or id filter that matches nothing → 404 "authorization not found"); POST {orgID, token,
 *               status, description, permissions} → 201 authorization (400 "token required for v1 user authorization type",
 *               422 {"code":"conflict","message":"token already exists"}: ErrTokenAlreadyExistsError is EConflict, 422 in
 *               kit/transport/http/error_handler.go); DELETE /{id} → 204; POST /{id}/password {password} → 204; 1.x
 *               credentials that fail (unknown name, wrong password, inactive) → 401 "Unauthorized"
 *  [v2-dbrp]    https://docs.influxdata.com/influxdb/v2/query-data/influxql/dbrp/ and the OSS spec (DBRP, DBRPCreate):
 *               GET /api/v2/dbrps?orgID=&db= → {content: DBRP[]}; virtual mappings (2.2+): every bucket without an
 *               explicit one, database = bucket name, rp autogen
 *  [v2-dbrp-src] influxdata/influxdb v2.0.0–v2.7.x dbrp/http_server_dbrp.go postDBRP → 201 and the mapping itself;
 *               dbrp/service.go Create → isDBRPUnique: the same (org, database, rp) again → dbrp/error.go
 *               ErrDBRPAlreadyExists, EConflict → 422 {"code":"conflict","message":"another DBRP mapping with same orgID, db, and rp exists"}
 *               Not taken from a source: the 403 this stand-in answers when an authorization lacks the bucket
 *               permission (the tests only rely on "refused, no data").
 */
import type { InfluxMock } from './server.js';
import type { LegacyAuth, MockDbrp, MockPermission, RecordedRequest, ReplyFn } from './types.js';

/** 1.x user/password of a request (Basic, or u/p parameters) when its user names a legacy authorization. */
export function legacyCredentials(mock: InfluxMock, rec: RecordedRequest): { user: string; password: string } | null {
  if (mock.legacyAuths.size === 0) return null;
  const auth = String(rec.headers.authorization ?? '');
  let user: string | undefined;
  let password = '';
  if (auth.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    user = colon < 0 ? decoded : decoded.slice(0, colon);
    password = colon < 0 ? '' : decoded.slice(colon + 1);
  } else if (rec.query.u !== undefined) {
    user = rec.query.u;
    password = rec.query.p ?? '';
  }
  if (user === undefined || user === mock.options.username) return null;
  return { user, password };
}

/** The DBRP mapping of `db` (explicit default first, else virtual when enabled) → the bucket's name ([v2-dbrp]). */
export function bucketOfDatabase(mock: InfluxMock, db: string): string | null {
  const explicit = mock.dbrps.find((m) => m.database === db && m.default) ?? mock.dbrps.find((m) => m.database === db);
  if (explicit) return [...mock.buckets.values()].find((b) => b.id === explicit.bucketID)?.name ?? null;
  if (mock.options.virtualDbrps === false) return null;
  return mock.buckets.has(db) ? db : null;
}

/** Does the request's v1 authorization (if any) allow `action` on `db`? null: allowed, or no such authorization. */
export function deniedLegacy(
  mock: InfluxMock,
  rec: RecordedRequest,
  db: string,
  action: 'read' | 'write',
): { status: number; body: object } | null {
  const a = mock.legacyOf.get(rec.seq);
  if (!a) return null;
  const name = bucketOfDatabase(mock, db);
  const bucket = name === null ? undefined : mock.buckets.get(name);
  const allowed =
    bucket !== undefined &&
    a.permissions.some(
      (p) =>
        p.action === action &&
        p.resource.type === 'buckets' &&
        (p.resource.id === undefined || p.resource.id === bucket.id) &&
        (p.resource.orgID ?? a.orgID) === bucket.orgID,
    );
  return allowed
    ? null
    : { status: 403, body: { code: 'forbidden', message: `insufficient permissions for ${action}` } };
}

export function authResponse(mock: InfluxMock, a: LegacyAuth): object {
  return {
    id: a.id,
    token: a.token,
    status: a.status,
    description: a.description,
    orgID: a.orgID,
    org: mock.org,
    userID: a.userID,
    user: 'admin',
    permissions: a.permissions.map((p) => ({
      action: p.action,
      resource: {
        ...p.resource,
        ...(p.resource.id ? { name: [...mock.buckets.values()].find((b) => b.id === p.resource.id)?.name } : {}),
        org: mock.org,
      },
    })),
    links: { self: `/private/legacy/authorizations/${a.id}`, user: `/api/v2/users/${a.userID}` },
    createdAt: '2024-01-01T00:00:00Z',
    updatedAt: '2024-01-01T00:00:00Z',
  };
}

/** GET /private/legacy/authorizations ([v2-legacy]): a token or id filter that matches nothing is 404. */
export function listLegacyAuths(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  const { token, id, orgID } = rec.query;
  const list = [...mock.legacyAuths.values()].filter((a) =>
    id !== undefined ? a.id === id : token !== undefined ? a.token === token : orgID === undefined || a.orgID === orgID,
  );
  // [v2-legacy] service.go FindAuthorizations: an id or token filter looks one up, and a miss is ENotFound → 404
  if ((id !== undefined || token !== undefined) && list.length === 0)
    return reply(404, { code: 'not found', message: 'authorization not found' });
  reply(200, {
    links: { self: '/private/legacy/authorizations' },
    authorizations: list.map((a) => authResponse(mock, a)),
  });
}

/** POST /private/legacy/authorizations ([v2-legacy]): 201; a token name in use is 422 conflict. */
export function createLegacyAuth(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  let body: {
    orgID?: string;
    token?: string;
    status?: string;
    description?: string;
    permissions?: MockPermission[];
    userID?: string;
  };
  try {
    body = JSON.parse(rec.text) as typeof body;
  } catch {
    return reply(400, { code: 'invalid', message: 'invalid json structure' });
  }
  if (!body.permissions?.length)
    return reply(400, { code: 'invalid', message: 'authorization must include permissions' });
  if (!body.orgID) return reply(400, { code: 'invalid', message: 'org id required' });
  const status = body.status ?? 'active';
  if (status !== 'active' && status !== 'inactive')
    return reply(400, { code: 'invalid', message: 'unknown authorization status' });
  if (!body.token) return reply(400, { code: 'invalid', message: 'token required for v1 user authorization type' });
  // [v2-conflict] ErrTokenAlreadyExistsError is EConflict: 422, not 409
  if ([...mock.legacyAuths.values()].some((a) => a.token === body.token))
    return reply(422, { code: 'conflict', message: 'token already exists' });
  for (const p of body.permissions) {
    if (
      p.resource.type === 'buckets' &&
      p.resource.id &&
      ![...mock.buckets.values()].some((b) => b.id === p.resource.id)
    ) {
      return reply(404, { code: 'not found', message: 'bucket not found when creating auth' });
    }
  }
  const a: LegacyAuth = {
    id: (mock.nextId++).toString(16).padStart(16, '0'),
    token: body.token,
    status,
    description: body.description ?? '',
    orgID: body.orgID,
    userID: body.userID ?? '00000000000000aa',
    permissions: body.permissions,
    password: null,
  };
  mock.legacyAuths.set(a.id, a);
  reply(201, authResponse(mock, a));
}

/** GET|PATCH|DELETE /private/legacy/authorizations/{id}, POST …/{id}/password ([v2-legacy]) */
export function oneLegacyAuth(
  mock: InfluxMock,
  rec: RecordedRequest,
  id: string,
  password: boolean,
  reply: ReplyFn,
): void {
  const a = mock.legacyAuths.get(id);
  if (!a) return reply(404, { code: 'not found', message: 'authorization not found' });
  if (password && rec.method === 'POST') {
    let body: { password?: string };
    try {
      body = JSON.parse(rec.text) as typeof body;
    } catch {
      return reply(400, { code: 'invalid', message: 'invalid json' });
    }
    a.password = body.password ?? '';
    return reply(204, null);
  }
  if (password) return reply(405, { code: 'method not allowed', message: 'method not allowed' });
  switch (rec.method) {
    case 'GET':
      return reply(200, authResponse(mock, a));
    case 'DELETE':
      mock.legacyAuths.delete(id);
      return reply(204, null);
    case 'PATCH': {
      const upd = JSON.parse(rec.text || '{}') as { status?: 'active' | 'inactive'; description?: string };
      if (upd.status) a.status = upd.status;
      if (upd.description !== undefined) a.description = upd.description;
      return reply(200, authResponse(mock, a));
    }
    default:
      return reply(405, { code: 'method not allowed', message: 'method not allowed' });
  }
}

/** GET /api/v2/dbrps ([v2-dbrp]): explicit mappings, and the virtual ones of 2.2+. */
export function listDbrps(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  const { orgID, org, db, bucketID } = rec.query;
  if (orgID === undefined && org === undefined)
    return reply(400, { code: 'invalid', message: 'either "org" or "orgID" must be provided' });
  if ((orgID !== undefined && orgID !== mock.orgId) || (org !== undefined && org !== mock.org))
    return reply(200, { content: [] });
  const all: MockDbrp[] = [...mock.dbrps];
  if (mock.options.virtualDbrps !== false) {
    for (const b of mock.buckets.values()) {
      if (!mock.dbrps.some((m) => m.bucketID === b.id)) {
        all.push({
          id: b.id,
          orgID: b.orgID,
          bucketID: b.id,
          database: b.name,
          retention_policy: 'autogen',
          default: true,
          virtual: true,
        });
      }
    }
  }
  reply(200, {
    content: all.filter(
      (m) => (db === undefined || m.database === db) && (bucketID === undefined || m.bucketID === bucketID),
    ),
  });
}

/** POST /api/v2/dbrps ([v2-dbrp-src]): 201 and the mapping; the same (org, db, rp) again is 422 conflict. */
export function createDbrp(mock: InfluxMock, rec: RecordedRequest, reply: ReplyFn): void {
  let body: Partial<MockDbrp> & { org?: string };
  try {
    body = JSON.parse(rec.text) as typeof body;
  } catch {
    return reply(400, { code: 'invalid', message: 'invalid json structure' });
  }
  if (!body.bucketID || !body.database || !body.retention_policy)
    return reply(400, { code: 'invalid', message: 'bucketID, database and retention_policy are required' });
  if (body.orgID !== mock.orgId && body.org !== mock.org)
    return reply(404, { code: 'not found', message: 'organization not found' });
  if (![...mock.buckets.values()].some((b) => b.id === body.bucketID))
    return reply(404, { code: 'not found', message: 'bucket not found' });
  // [v2-dbrp-src] dbrp/service.go Create: the same (org, db, rp) twice → ErrDBRPAlreadyExists (EConflict → 422 [v2-conflict])
  if (mock.dbrps.some((m) => m.database === body.database && m.retention_policy === body.retention_policy)) {
    return reply(422, { code: 'conflict', message: 'another DBRP mapping with same orgID, db, and rp exists' });
  }
  const m: MockDbrp = {
    id: (mock.nextId++).toString(16).padStart(16, '0'),
    orgID: mock.orgId,
    bucketID: body.bucketID,
    database: body.database,
    retention_policy: body.retention_policy,
    default: body.default ?? false,
  };
  mock.dbrps.push(m);
  reply(201, m); // [v2-dbrp-src] dbrp/http_server_dbrp.go postDBRP: 201 and the mapping itself
}
