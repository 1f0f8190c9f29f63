/**
 * `powerview grafana apply` against an in-process server that reproduces the
 * documented requests and replies of Grafana's Team API, Folder API and
 * Folder Permissions API (docs/sources/developers/http_api/{team,folder,
 * folder_permissions}.md): a team per tenant, View on its folder and nothing
 * else there, idempotent.
 */
import t from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { applyGrafana, resolveGrafanaApi } from '../../src/grafana/apply.js';
import { normalizeCatalog } from '../../src/grafana/catalog.js';
import { uids } from '../../src/grafana/names.js';
import { StoreError } from '../../src/errors.js';

interface Item {
  teamId?: number;
  userId?: number;
  role?: string;
  permission: number;
}

const NAMES: Record<number, string> = { 1: 'View', 2: 'Edit', 4: 'Admin' };

/** Grafana's replies as documented; `searchByName404` mimics versions that answer 404 to a name search that finds nothing. */
async function fakeGrafana(options: { token?: string; searchByName404?: boolean } = {}) {
  const token = options.token ?? 'glsa_test';
  const teams: Array<{
    id: number;
    orgId: number;
    name: string;
    email: string;
    avatarUrl: string;
    memberCount: number;
  }> = [];
  const folders = new Map<string, { id: number; uid: string; title: string; version: number }>();
  const permissions = new Map<string, Item[]>();
  const requests: string[] = [];
  let nextId = 1;

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const folderJson = (f: { id: number; uid: string; title: string; version: number }) => ({
    id: f.id,
    uid: f.uid,
    title: f.title,
    url: `/dashboards/f/${f.uid}/${f.title.toLowerCase()}`,
    hasAcl: false,
    canSave: true,
    canEdit: true,
    canAdmin: true,
    createdBy: 'admin',
    created: '2018-01-31T17:43:12+01:00',
    updatedBy: 'admin',
    updated: '2018-01-31T17:43:12+01:00',
    version: f.version,
  });
  const createFolder = (uid: string, title: string) => {
    const f = { id: nextId++, uid, title, version: 1 };
    folders.set(uid, f);
    // a new folder: Viewer may view, Editor may edit (and Admins always may)
    permissions.set(uid, [
      { role: 'Viewer', permission: 1 },
      { role: 'Editor', permission: 2 },
    ]);
    return f;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const url = new URL(req.url!, 'http://x');
    requests.push(`${req.method} ${url.pathname}`);
    if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { message: 'Unauthorized' });
    if (req.method !== 'GET' && !/^application\/json/.test(req.headers['content-type'] ?? ''))
      return send(res, 400, { message: 'bad request data' });
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    let m: RegExpMatchArray | null;
    if (req.method === 'GET' && url.pathname === '/api/teams/search') {
      const name = url.searchParams.get('name');
      const query = url.searchParams.get('query') ?? '';
      const found = teams.filter((x) => (name !== null ? x.name === name : x.name.includes(query)));
      if (name !== null && found.length === 0 && options.searchByName404)
        return send(res, 404, { message: 'Team not found' });
      return send(res, 200, { totalCount: found.length, teams: found, page: 1, perPage: 1000 });
    }
    if (req.method === 'POST' && url.pathname === '/api/teams') {
      if (typeof body.name !== 'string' || !body.name) return send(res, 400, { message: 'bad request data' });
      if (teams.some((x) => x.name === body.name)) return send(res, 409, { message: 'Team name taken' });
      const team = {
        id: nextId++,
        orgId: 1,
        name: body.name,
        email: String((body.email as string | undefined) ?? ''),
        avatarUrl: '/avatar/x',
        memberCount: 0,
      };
      teams.push(team);
      return send(res, 200, { message: 'Team created', teamId: team.id, uid: `t${team.id}` });
    }
    if (req.method === 'POST' && url.pathname === '/api/folders') {
      if (typeof body.title !== 'string' || !body.title)
        return send(res, 400, { message: 'folder title cannot be empty' });
      const uid = typeof body.uid === 'string' ? body.uid : `auto${nextId}`;
      if (uid.length > 40 || !/^[A-Za-z0-9_-]+$/.test(uid))
        return send(res, 400, { message: 'uid contains illegal characters' });
      if (folders.has(uid)) return send(res, 409, { message: 'a folder with the same uid already exists' });
      return send(res, 200, folderJson(createFolder(uid, body.title)));
    }
    if ((m = url.pathname.match(/^\/api\/folders\/([^/]+)\/permissions$/))) {
      const f = folders.get(decodeURIComponent(m[1]));
      if (!f) return send(res, 404, { message: 'Folder not found' });
      if (req.method === 'GET') {
        return send(
          res,
          200,
          permissions
            .get(f.uid)!
            .map((p, i) => ({
              id: i + 1,
              folderId: f.id,
              created: '2017-06-20T02:00:00+02:00',
              updated: '2017-06-20T02:00:00+02:00',
              userId: p.userId ?? 0,
              userLogin: '',
              userEmail: '',
              teamId: p.teamId ?? 0,
              team: p.teamId ? (teams.find((x) => x.id === p.teamId)?.name ?? '') : '',
              role: p.role ?? '',
              permission: p.permission,
              permissionName: NAMES[p.permission],
              uid: f.uid,
              title: f.title,
              slug: '',
              isFolder: true,
              url: '',
            }))
            .concat([
              {
                id: 99,
                folderId: f.id,
                created: '',
                updated: '',
                userId: 0,
                userLogin: '',
                userEmail: '',
                teamId: 0,
                team: '',
                role: 'Admin',
                permission: 4,
                permissionName: 'Admin',
                uid: f.uid,
                title: f.title,
                slug: '',
                isFolder: true,
                url: '',
              },
            ]),
        );
      }
      if (req.method === 'POST') {
        const items = body.items as Item[] | undefined;
        if (!Array.isArray(items)) return send(res, 400, { message: 'bad request data' });
        for (const it of items) {
          const targets = [it.teamId, it.userId, it.role].filter((x) => x !== undefined && x !== 0 && x !== '');
          if (targets.length !== 1 || ![1, 2, 4].includes(it.permission))
            return send(res, 400, { message: 'invalid permission item' });
          if (it.role === 'Admin') return send(res, 400, { message: 'Permissions cannot be set for Admins' });
          if (it.teamId && !teams.some((x) => x.id === it.teamId)) return send(res, 400, { message: 'team not found' });
        }
        permissions.set(
          f.uid,
          items.map((it) => ({ ...it })),
        );
        return send(res, 200, { message: 'Folder permissions updated', id: f.id, title: f.title });
      }
    }
    if ((m = url.pathname.match(/^\/api\/folders\/([^/]+)$/)) && req.method === 'GET') {
      const f = folders.get(decodeURIComponent(m[1]));
      return f ? send(res, 200, folderJson(f)) : send(res, 404, { message: 'Folder not found' });
    }
    return send(res, 404, { message: 'Not found' });
  };
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    token,
    teams,
    folders,
    permissions,
    requests,
    createFolder,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const catalog = normalizeCatalog([
  { tenant: 'acme', timeZone: 'Europe/Paris', campaigns: ['c1'] },
  { tenant: 'beta.corp', timeZone: 'UTC', campaigns: [] },
]);

t.test('a team per tenant, View on its folder and nothing else; the second run changes nothing', async (t) => {
  const g = await fakeGrafana();
  t.teardown(g.close);
  // Grafana already read the tree: the folder of acme exists with the default permissions
  g.createFolder(uids.tenantFolder('acme'), 'acme');
  const config = resolveGrafanaApi({ grafanaUrl: g.url }, { GRAFANA_TOKEN: g.token });
  const first = await applyGrafana(catalog, config);
  t.same(
    first.tenants.map((x) => [x.tenant, x.team.name, x.team.created, x.folder.created, x.permissions]),
    [
      ['acme', 'PowerView acme', true, false, 'set'],
      ['beta.corp', 'PowerView beta.corp', true, true, 'set'],
    ],
  );
  for (const x of first.tenants)
    t.same(
      g.permissions.get(x.folder.uid),
      [{ teamId: x.team.id, permission: 1 }],
      `${x.tenant}: its team views, no role does`,
    );
  t.same(
    g.permissions.get(uids.monitoringFolder),
    [{ role: 'Editor', permission: 1 }],
    'the ingester folder: Editors (and Admins) only',
  );
  t.ok(first.changes > 0);

  const before = g.requests.length;
  const second = await applyGrafana(catalog, config);
  t.equal(second.changes, 0, 'idempotent: no mutating request');
  t.same(
    g.requests.slice(before).filter((r) => !r.startsWith('GET')),
    [],
  );
  t.same(
    second.tenants.map((x) => [x.team.created, x.folder.created, x.permissions]),
    [
      [false, false, 'unchanged'],
      [false, false, 'unchanged'],
    ],
  );
  t.equal(g.teams.length, 2);

  // someone widened a folder by hand: the next run narrows it again
  g.permissions.get(uids.tenantFolder('acme'))!.push({ role: 'Viewer', permission: 1 });
  const third = await applyGrafana(catalog, config);
  t.equal(third.tenants[0].permissions, 'set');
  t.equal(third.changes, 1);
});

t.test('name search answering 404, a team created meanwhile (409)', async (t) => {
  const g = await fakeGrafana({ searchByName404: true });
  t.teardown(g.close);
  const config = resolveGrafanaApi({ grafanaUrl: g.url }, { GRAFANA_TOKEN: g.token });
  const r = await applyGrafana(normalizeCatalog([catalog.tenants[0]]), config);
  t.equal(r.tenants[0].team.created, true);
  t.equal((await applyGrafana(normalizeCatalog([catalog.tenants[0]]), config)).changes, 0);
});

t.test('refused credentials and bad configuration', async (t) => {
  const g = await fakeGrafana();
  t.teardown(g.close);
  const err = await applyGrafana(catalog, resolveGrafanaApi({ grafanaUrl: g.url }, { GRAFANA_TOKEN: 'wrong' })).catch(
    (e: unknown) => e,
  );
  t.ok(err instanceof StoreError);
  t.equal((err as StoreError).code, 'PV_ERR_GRAFANA_API');
  t.equal((err as StoreError).status, 401);
  t.notMatch((err as Error).message, /wrong/, 'the token is not in the message');
  t.throws(() => resolveGrafanaApi({}, {}), { code: 'PV_ERR_CONFIG' });
  t.throws(() => resolveGrafanaApi({ grafanaUrl: 'ftp://x' }, { GRAFANA_TOKEN: 'x' }), { code: 'PV_ERR_CONFIG' });
  t.throws(
    () => resolveGrafanaApi({ grafanaUrl: g.url }, { GRAFANA_USER: 'admin' }),
    { code: 'PV_ERR_CONFIG' },
    'a user without a password',
  );
  const down = await applyGrafana(
    catalog,
    resolveGrafanaApi({ grafanaUrl: 'http://127.0.0.1:1' }, { GRAFANA_TOKEN: 'x' }),
  ).catch((e: unknown) => e);
  t.equal((down as StoreError).code, 'PV_ERR_GRAFANA_API');
  t.equal((down as StoreError).status, 0, 'no reply');
});
