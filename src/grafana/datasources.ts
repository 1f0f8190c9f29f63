import type { TenantEntry } from './catalog.js';
import { passwordEnvVar, tenantLogin, uids } from './names.js';
import { INFLUX_TYPE, POSTGRES_TYPE, PROMETHEUS_TYPE } from './queries.js';

/**
 * Datasource provisioning files (Grafana "Provision Grafana" → Data sources):
 * secrets and addresses are `$VAR` references that Grafana expands from its
 * own environment when it reads the file (`powerview grafana env` prints
 * them); nothing secret is ever written into the tree.
 */
export const GRAFANA_ENV = {
  influxUrl: 'POWERVIEW_GRAFANA_INFLUX_URL',
  pgHost: 'POWERVIEW_GRAFANA_PG_HOST',
  pgDatabase: 'POWERVIEW_GRAFANA_PG_DATABASE',
  pgSslMode: 'POWERVIEW_GRAFANA_PG_SSLMODE',
  prometheusUrl: 'POWERVIEW_GRAFANA_PROMETHEUS_URL',
} as const;

const ref = (name: string): string => `$${name}`;

export interface DatasourcesFile {
  apiVersion: 1;
  prune: true;
  datasources: Array<Record<string, unknown>>;
}

/** A tenant's two datasources: InfluxDB (InfluxQL, its database) and PostgreSQL (its login), both read-only by credentials. */
export function tenantDatasources(t: TenantEntry): DatasourcesFile {
  const login = tenantLogin(t.tenant);
  return {
    apiVersion: 1,
    prune: true,
    datasources: [
      {
        name: `${t.tenant} InfluxDB`,
        uid: uids.influxDatasource(t.tenant),
        type: INFLUX_TYPE,
        access: 'proxy',
        orgId: 1,
        url: ref(GRAFANA_ENV.influxUrl),
        user: login,
        jsonData: { version: 'InfluxQL', dbName: t.tenant, httpMode: 'POST' },
        secureJsonData: { password: ref(passwordEnvVar(t.tenant, 'influx')) },
        editable: false,
        version: 1,
      },
      {
        name: `${t.tenant} PostgreSQL`,
        uid: uids.pgDatasource(t.tenant),
        type: POSTGRES_TYPE,
        access: 'proxy',
        orgId: 1,
        url: ref(GRAFANA_ENV.pgHost),
        user: login,
        jsonData: {
          database: ref(GRAFANA_ENV.pgDatabase),
          sslmode: ref(GRAFANA_ENV.pgSslMode),
          postgresVersion: 1500,
          timescaledb: false,
          maxOpenConns: 5,
          maxIdleConns: 2,
          connMaxLifetime: 14400,
        },
        secureJsonData: { password: ref(passwordEnvVar(t.tenant, 'pg')) },
        editable: false,
        version: 1,
      },
    ],
  };
}

/** The ingester's metrics: one Prometheus for the deployment. */
export function prometheusDatasource(): DatasourcesFile {
  return {
    apiVersion: 1,
    prune: true,
    datasources: [
      {
        name: 'PowerView Prometheus',
        uid: uids.prometheusDatasource,
        type: PROMETHEUS_TYPE,
        access: 'proxy',
        orgId: 1,
        url: ref(GRAFANA_ENV.prometheusUrl),
        jsonData: { httpMethod: 'POST', timeInterval: '15s' },
        editable: false,
        version: 1,
      },
    ],
  };
}
