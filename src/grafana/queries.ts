import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as common from '@grafana/grafana-foundation-sdk/common';

/**
 * The SDK ships query types for Prometheus but not for InfluxDB (InfluxQL) or
 * PostgreSQL: these two builders produce the targets those datasources store
 * in a dashboard (the JSON Grafana writes when a query is saved in code mode).
 */

export const INFLUX_TYPE = 'influxdb';
export const POSTGRES_TYPE = 'grafana-postgresql-datasource';
export const PROMETHEUS_TYPE = 'prometheus';

export const influxRef = (uid: string): common.DataSourceRef => ({ type: INFLUX_TYPE, uid });
export const postgresRef = (uid: string): common.DataSourceRef => ({ type: POSTGRES_TYPE, uid });
export const prometheusRef = (uid: string): common.DataSourceRef => ({ type: PROMETHEUS_TYPE, uid });

export interface InfluxQLQuery extends cog.Dataquery {
  refId: string;
  datasource: common.DataSourceRef;
  /** raw InfluxQL with Grafana's variables ($timeFilter, $__interval, ${var:regex}) */
  query: string;
  rawQuery: true;
  resultFormat: 'time_series' | 'table';
  alias?: string;
}

export interface SqlQuery extends cog.Dataquery {
  refId: string;
  datasource: common.DataSourceRef;
  /** raw SQL with Grafana's macros ($__timeFilter(col), $__timeFrom()) and variables */
  rawSql: string;
  rawQuery: true;
  editorMode: 'code';
  format: 'time_series' | 'table';
}

function variant<T extends object>(q: T): T & cog.Dataquery {
  // the SDK's marker method: not enumerable, so JSON.stringify leaves it out
  return Object.defineProperty(q, '_implementsDataqueryVariant', { value: () => {}, enumerable: false }) as T &
    cog.Dataquery;
}

export class InfluxQLBuilder implements cog.Builder<cog.Dataquery> {
  private readonly q: Omit<InfluxQLQuery, '_implementsDataqueryVariant'>;
  constructor(datasource: common.DataSourceRef, query: string, refId = 'A') {
    this.q = { refId, datasource, query, rawQuery: true, resultFormat: 'time_series' };
  }
  table(): this {
    this.q.resultFormat = 'table';
    return this;
  }
  alias(alias: string): this {
    this.q.alias = alias;
    return this;
  }
  build(): InfluxQLQuery {
    return variant({ ...this.q });
  }
}

export class SqlBuilder implements cog.Builder<cog.Dataquery> {
  private readonly q: Omit<SqlQuery, '_implementsDataqueryVariant'>;
  constructor(
    datasource: common.DataSourceRef,
    rawSql: string,
    format: 'time_series' | 'table' = 'table',
    refId = 'A',
  ) {
    this.q = { refId, datasource, rawSql, rawQuery: true, editorMode: 'code', format };
  }
  build(): SqlQuery {
    return variant({ ...this.q });
  }
}

/** One line per clause: the SQL reads in the dashboard JSON as it was written here. */
export function sql(lines: TemplateStringsArray, ...values: unknown[]): string {
  const text = lines.reduce((out, part, i) => out + part + (i < values.length ? String(values[i]) : ''), '');
  const rows = text.split('\n');
  const indent = Math.min(...rows.filter((r) => r.trim()).map((r) => r.match(/^ */)![0].length));
  return rows
    .map((r) => r.slice(indent).trimEnd())
    .join('\n')
    .trim();
}
