import { randomBytes } from 'node:crypto';
import { ErrorCodes, StoreError, UsageError } from '../errors.js';
import { GrafanaApi, type GrafanaApiConfig } from './api.js';
import { teamName } from './names.js';

/**
 * Grafana users of a tenant: created (or found) through the Admin API, a
 * member of the tenant's team (which views the tenant's folder, and nothing
 * else: `grafana apply`). A user it creates joins the organization as a
 * Viewer, with a generated password returned once; a user found keeps its
 * password and its organization role.
 */
export interface TenantUserResult {
  tenant: string;
  login: string;
  userId: number;
  created: boolean;
  /** the generated password, only when this call created the user: shown once, kept nowhere */
  password: string | null;
  team: string;
  member: 'added' | 'present';
}

/** The user the earlier deployment created for each customer. */
export function defaultLogin(tenant: string): string {
  return `user_${tenant}`;
}

/** Creating users needs a Grafana server admin: a service account token cannot call the Admin API. */
export function userAdminApi(config: GrafanaApiConfig): GrafanaApi {
  if (!config.user || !config.password)
    throw new UsageError(
      'Grafana users are created through the Admin API, which takes no service account token: set GRAFANA_USER ' +
        'and GRAFANA_PASSWORD of a Grafana server admin',
      ErrorCodes.CONFIG,
    );
  return new GrafanaApi(config, true);
}

interface FoundUser {
  id: number;
  login: string;
}

async function lookup(api: GrafanaApi, login: string): Promise<FoundUser | null> {
  const r = await api.call<FoundUser>(
    'GET',
    `/api/users/lookup?${new URLSearchParams({ loginOrEmail: login })}`,
    undefined,
    [200, 404],
  );
  return r.status === 404 ? null : r.json;
}

/** Finds or creates `login` and makes it a member of the tenant's team (which must exist: `grafana apply`). */
export async function addTenantUser(
  api: GrafanaApi,
  tenant: string,
  login: string,
  opts: { email?: string; name?: string; teamId?: number } = {},
): Promise<TenantUserResult> {
  const team = teamName(tenant);
  const teamId = opts.teamId ?? (await api.findTeam(team));
  if (teamId === null)
    throw new UsageError(`Grafana has no team "${team}": run \`powerview grafana apply\` first`, ErrorCodes.USAGE);
  let user = await lookup(api, login);
  let password: string | null = null;
  if (!user) {
    const generated = randomBytes(18).toString('base64url');
    const made = await api.call<{ id: number }>(
      'POST',
      '/api/admin/users',
      { login, password: generated, name: opts.name ?? login, ...(opts.email ? { email: opts.email } : {}) },
      [200, 409, 412],
    );
    if (made.status === 200) {
      user = { id: made.json.id, login };
      password = generated;
      await api.call('PATCH', `/api/org/users/${made.json.id}`, { role: 'Viewer' });
    } else {
      // created meanwhile (another run), or the e-mail belongs to another login
      user = await lookup(api, login);
      if (!user)
        throw new StoreError(ErrorCodes.GRAFANA_API, `Grafana: user "${login}" cannot be created: ${made.status}`);
    }
  }
  const current = await api.call<Array<{ userId: number }>>('GET', `/api/teams/${teamId}/members`);
  let member: TenantUserResult['member'] = 'present';
  if (!current.json.some((m) => m.userId === user.id)) {
    const added = await api.call('POST', `/api/teams/${teamId}/members`, { userId: user.id }, [200, 400]);
    member = added.status === 200 ? 'added' : 'present';
  }
  return { tenant, login, userId: user.id, created: password !== null, password, team, member };
}
