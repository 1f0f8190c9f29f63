/**
 * Grafana's template-variable substitution, as its documentation describes
 * it, for the syntax the generated dashboards use: $var, ${var}, ${var:regex},
 * $timeFilter / $__interval (InfluxQL), $__timeFilter(col) / $__timeFrom() /
 * $__timeTo() (SQL), $__rate_interval / $__range (Prometheus). Multi-value
 * variables: a regex alternation in InfluxQL and PromQL, quoted and
 * comma-separated in SQL; "All" is every option, or allValue when set.
 */
export interface VariableValue {
  values: string[];
  /** the variable's allValue, used raw when "All" is selected */
  allValue?: string;
  all?: boolean;
}

export interface TimeRange {
  from: Date;
  to: Date;
}

export type Dialect = 'influxql' | 'sql' | 'promql';

const escapeRegex = (s: string): string => s.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');

function formatValue(v: VariableValue, format: string | undefined, dialect: Dialect): string {
  if (v.all && v.allValue !== undefined) return v.allValue;
  const regex = (): string =>
    v.values.length === 1 ? escapeRegex(v.values[0]) : `(${v.values.map(escapeRegex).join('|')})`;
  if (format === 'regex') return regex();
  if (format === 'raw') return v.values.join(',');
  if (dialect === 'sql') return v.values.map((x) => `'${x.replace(/'/g, "''")}'`).join(',');
  return v.values.length === 1 ? v.values[0] : regex();
}

export function interpolate(
  query: string,
  dialect: Dialect,
  vars: Record<string, VariableValue>,
  range: TimeRange,
  intervalSeconds = 3600,
): string {
  const iso = (d: Date): string => `'${d.toISOString().replace(/\.000Z$/, 'Z')}'`;
  const rangeSeconds = Math.round((range.to.getTime() - range.from.getTime()) / 1000);
  let q = query;
  if (dialect === 'influxql') {
    q = q.replace(/\$timeFilter\b/g, `time >= ${range.from.getTime()}ms and time <= ${range.to.getTime()}ms`);
    q = q.replace(/\$__interval\b/g, `${intervalSeconds}s`);
  }
  if (dialect === 'sql') {
    q = q.replace(
      /\$__timeFilter\(([^)]+)\)/g,
      (_m, col: string) => `${col.trim()} BETWEEN ${iso(range.from)} AND ${iso(range.to)}`,
    );
    q = q.replace(/\$__timeFrom\(\)/g, iso(range.from)).replace(/\$__timeTo\(\)/g, iso(range.to));
  }
  if (dialect === 'promql') {
    // Grafana: max($__interval + scrape interval, 4 × scrape interval), the datasource's timeInterval being the scrape interval
    const scrape = 15;
    q = q.replace(/\$__rate_interval\b/g, `${Math.max(intervalSeconds + scrape, 4 * scrape)}s`);
    q = q.replace(/\$__range\b/g, `${rangeSeconds}s`);
  }
  q = q.replace(
    /\$\{(\w+)(?::(\w+))?\}|\$(\w+)/g,
    (m, braced: string | undefined, format: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare!;
      const v = vars[name];
      if (!v) return m;
      return formatValue(v, format, dialect);
    },
  );
  const left = q.match(/\$\{?\w+/);
  if (left) throw new Error(`unresolved variable ${left[0]} in ${q}`);
  return q;
}
