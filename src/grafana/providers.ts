import { posix } from 'node:path';
import { ErrorCodes, UsageError } from '../errors.js';
import { uids } from './names.js';

export interface ProvidersFile {
  apiVersion: 1;
  providers: Array<Record<string, unknown>>;
}

/** Default of `--dashboards-path`: where Grafana finds the tree's dashboards/ folder. */
export const DEFAULT_DASHBOARDS_PATH = '/var/lib/grafana/dashboards/powerview';

/** `--dashboards-path`, then POWERVIEW_GRAFANA_DASHBOARDS_PATH, then the default; absolute (a path inside Grafana). */
export function resolveDashboardsPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const path = flag ?? (env.POWERVIEW_GRAFANA_DASHBOARDS_PATH || DEFAULT_DASHBOARDS_PATH);
  if (!path.startsWith('/')) {
    throw new UsageError(
      `--dashboards-path / POWERVIEW_GRAFANA_DASHBOARDS_PATH must be absolute (a path inside Grafana), got "${path}"`,
      ErrorCodes.CONFIG,
    );
  }
  return path.replace(/(.)\/+$/, '$1');
}

function provider(name: string, folder: string, folderUid: string, path: string): ProvidersFile {
  return {
    apiVersion: 1,
    providers: [
      {
        name,
        orgId: 1,
        folder,
        folderUid,
        type: 'file',
        disableDeletion: false,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path, foldersFromFilesStructure: false },
      },
    ],
  };
}

/** One folder per tenant, named after it; `apply` gives the tenant's team View on it. */
export function tenantProvider(tenant: string, dashboardsPath: string): ProvidersFile {
  return provider(
    `powerview-tenant-${tenant}`,
    tenant,
    uids.tenantFolder(tenant),
    posix.join(dashboardsPath, 'tenants', tenant),
  );
}

export function monitoringProvider(dashboardsPath: string): ProvidersFile {
  return provider(
    'powerview-ingester',
    'PowerView ingester',
    uids.monitoringFolder,
    posix.join(dashboardsPath, 'ingester'),
  );
}
