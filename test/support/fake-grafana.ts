/**
 * An in-process Grafana that reproduces the documented requests and replies
 * of its Team API, Folder API, Folder Permissions API (docs/sources/
 * developers/http_api/{team,folder,folder_permissions}.md), and, for users,
 * the Admin API (`POST /api/admin/users`), the User API (`GET
 * /api/users/lookup`) and the Org API (`PATCH /api/org/users/:id`): those
 * three answer only basic authentication of a server admin, as Grafana's
 * do (a service account token cannot call them).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Item {
  teamId?: number;
  userId?: number;
  role?: string;
  permission: number;
}

const NAMES: Record<number, string> = { 1: 'View', 2: 'Edit', 4: 'Admin' };

/** Grafana's replies as documented; `searchByName404` mimics versions that answer 404 to a name search that finds nothing. */
export async function fakeGrafana(
  options: { token?: string; searchByName404?: boolean; admin?: { user: string; password: string } } = {},
) {
  const token = options.token ?? 'glsa_test';
  const admin = options.admin ?? { user: 'admin', password: 'admin-pw' };
  const basic = `Basic ${Buffer.from(`${admin.user}:${admin.password}`).toString('base64')}`;
  const users: Array<{ id: number; login: string; email: string; name: string; password: string; role: string }> = [];
  const members = new Map<number, Set<number>>();
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
    const auth = req.headers.authorization;
    if (auth !== `Bearer ${token}` && auth !== basic) return send(res, 401, { message: 'Unauthorized' });
    // the Admin and User APIs: a server admin's basic authentication only
    const serverAdminOnly = url.pathname.startsWith('/api/admin/') || url.pathname === '/api/users/lookup';
    if (serverAdminOnly && auth !== basic) return send(res, 403, { message: 'Permission denied' });
    if (req.method !== 'GET' && !/^application\/json/.test(req.headers['content-type'] ?? ''))
      return send(res, 400, { message: 'bad request data' });
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    let m: RegExpMatchArray | null;
    if (req.method === 'GET' && url.pathname === '/api/users/lookup') {
      const key = url.searchParams.get('loginOrEmail') ?? '';
      const u = users.find((x) => x.login === key || x.email === key);
      if (!u) return send(res, 404, { message: 'user not found' });
      return send(res, 200, {
        id: u.id,
        email: u.email,
        name: u.name,
        login: u.login,
        theme: 'light',
        orgId: 1,
        isGrafanaAdmin: false,
      });
    }
    if (req.method === 'POST' && url.pathname === '/api/admin/users') {
      const login = typeof body.login === 'string' ? body.login : '';
      const email = typeof body.email === 'string' && body.email ? body.email : login;
      if (!login || typeof body.password !== 'string' || body.password.length < 4)
        return send(res, 400, { message: 'bad request data' });
      if (users.some((x) => x.login === login || x.email === email))
        return send(res, 412, { message: 'User with same email or login already exists' });
      const u = {
        id: nextId++,
        login,
        email,
        name: typeof body.name === 'string' ? body.name : '',
        password: body.password,
        role: 'Viewer',
      };
      // auto_assign_org_role: a new user joins the main org as a Viewer
      users.push(u);
      return send(res, 200, { id: u.id, message: 'User created' });
    }
    if ((m = url.pathname.match(/^\/api\/org\/users\/(\d+)$/)) && req.method === 'PATCH') {
      const u = users.find((x) => x.id === Number(m![1]));
      if (!u) return send(res, 404, { message: 'user not found' });
      if (!['Viewer', 'Editor', 'Admin', 'None'].includes(String(body.role)))
        return send(res, 400, { message: 'bad request data' });
      u.role = String(body.role);
      return send(res, 200, { message: 'Organization user updated' });
    }
    if ((m = url.pathname.match(/^\/api\/teams\/(\d+)\/members$/))) {
      const team = teams.find((x) => x.id === Number(m![1]));
      if (!team) return send(res, 404, { message: 'Team not found' });
      const ids = members.get(team.id) ?? new Set<number>();
      members.set(team.id, ids);
      if (req.method === 'GET') {
        return send(
          res,
          200,
          [...ids].map((id) => {
            const u = users.find((x) => x.id === id)!;
            return { orgId: 1, teamId: team.id, userId: id, email: u.email, login: u.login, avatarUrl: '/avatar/x' };
          }),
        );
      }
      if (req.method === 'POST') {
        const userId = Number(body.userId);
        if (!users.some((x) => x.id === userId)) return send(res, 404, { message: 'User not found' });
        if (ids.has(userId)) return send(res, 400, { message: 'User is already added to this team' });
        ids.add(userId);
        team.memberCount = ids.size;
        return send(res, 200, { message: 'Member added to Team' });
      }
    }
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
    admin,
    users,
    members,
    teams,
    folders,
    permissions,
    requests,
    createFolder,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
