import type { InfluxApi } from '../influx/config.js';
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

/**
 * How the tenant's InfluxQL datasource authenticates on `/query`. 1.x and 2.x: user and password, which Grafana
 * sends as HTTP Basic (a 1.x user; a 2.x v1-compatible authorization). InfluxDB 3: the token in an
 * `Authorization: Token <token>` header (a custom header of the datasource) — the one form every 3.x release
 * accepts: 3.0 takes Bearer, Token or `p` and answers Basic with 400 "Authorization header was malformed"; Basic
 * (the token as the password) only from 3.1 (influxdb3_server/src/http.rs validate_auth_header); `p` would put
 * the token in the URL. See docs/influxdb.md#authentication.
 */
function influxAuth(t: TenantEntry, api: InfluxApi): Record<string, unknown> {
  const secret = ref(passwordEnvVar(t.tenant, 'influx'));
  if (api === 'v3') {
    return {
      jsonData: { version: 'InfluxQL', dbName: t.tenant, httpMode: 'POST', httpHeaderName1: 'Authorization' },
      secureJsonData: { httpHeaderValue1: `Token ${secret}` },
    };
  }
  return {
    user: tenantLogin(t.tenant),
    jsonData: { version: 'InfluxQL', dbName: t.tenant, httpMode: 'POST' },
    secureJsonData: { password: secret },
  };
}

/**
 * A tenant's two datasources: InfluxDB (InfluxQL, its database) and PostgreSQL (its login), both read-only by
 * credentials; `influxApi` (INFLUX_API) picks how the InfluxDB one authenticates.
 */
export function tenantDatasources(t: TenantEntry, influxApi: InfluxApi = 'v1'): DatasourcesFile {
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
        ...influxAuth(t, influxApi),
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
