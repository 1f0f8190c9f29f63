import { ErrorCodes, PowerViewError, StoreError } from '../errors.js';
import { GrafanaApi, VIEW, type GrafanaApiConfig } from './api.js';
import type { GrafanaCatalog } from './catalog.js';
import { teamName, uids } from './names.js';
import { addTenantUser, defaultLogin, userAdminApi, type TenantUserResult } from './users.js';

export { resolveGrafanaApi, type GrafanaApiConfig } from './api.js';

/**
 * Teams and folder permissions cannot be provisioned from files in Grafana
 * OSS: `powerview grafana apply` sets them through the HTTP API (Team API,
 * Folder API, Folder Permissions API), idempotently — what is already right
 * is left alone, so a second run changes nothing.
 */
export interface TenantApplyResult {
  tenant: string;
  team: { id: number; name: string; created: boolean };
  folder: { uid: string; created: boolean };
  permissions: 'set' | 'unchanged';
  /** --default-users: `user_<tenant>`, a member of the team */
  user?: TenantUserResult;
}

export interface ApplyResult {
  tenants: TenantApplyResult[];
  monitoring: { folder: { uid: string; created: boolean }; permissions: 'set' | 'unchanged' };
  /** mutating requests sent (0 on a run that found everything in place) */
  changes: number;
}

/**
 * A team per tenant with View on the tenant's folder and nothing else there; the ingester's folder for Editors and
 * Admins only.
 */
export async function applyGrafana(
  catalog: GrafanaCatalog,
  config: GrafanaApiConfig,
  options: { defaultUsers?: boolean } = {},
): Promise<ApplyResult> {
  const api = new GrafanaApi(config);
  // before any change: creating users needs a server admin's basic authentication
  const userApi = options.defaultUsers ? userAdminApi(config) : null;
  const tenants: TenantApplyResult[] = [];
  try {
    for (const t of catalog.tenants) {
      const name = teamName(t.tenant);
      const team = await api.ensureTeam(name);
      const uid = uids.tenantFolder(t.tenant);
      const created = await api.ensureFolder(uid, t.tenant);
      const permissions = await api.ensurePermissions(uid, [{ teamId: team.id, permission: VIEW }]);
      const user = userApi ? await addTenantUser(userApi, t.tenant, defaultLogin(t.tenant), { teamId: team.id }) : null;
      tenants.push({
        tenant: t.tenant,
        team: { ...team, name },
        folder: { uid, created },
        permissions,
        ...(user ? { user } : {}),
      });
    }
    const monitoringCreated = await api.ensureFolder(uids.monitoringFolder, 'PowerView ingester');
    const monitoringPermissions = await api.ensurePermissions(uids.monitoringFolder, [
      { role: 'Editor', permission: VIEW },
    ]);
    return {
      tenants,
      monitoring: {
        folder: { uid: uids.monitoringFolder, created: monitoringCreated },
        permissions: monitoringPermissions,
      },
      changes: api.changes + (userApi?.changes ?? 0),
    };
  } catch (err) {
    if (err instanceof PowerViewError) throw err;
    throw new StoreError(ErrorCodes.GRAFANA_API, `Grafana: ${(err as Error).message}`, { cause: err });
  }
}
