/**
 * Runs a generated dashboard the way Grafana would: its variables resolved
 * by their own queries, then every panel query with the variables and the
 * time range substituted, each against the real database of its datasource
 * with the credentials that datasource carries.
 */
import pg from 'pg';
import { interpolate, type Dialect, type TimeRange, type VariableValue } from './grafana-interpolate.js';

export interface Target {
  refId: string;
  datasource: { type: string; uid: string };
  query?: string;
  rawSql?: string;
  expr?: string;
}

export interface DashboardJson {
  uid: string;
  title: string;
  panels: PanelJson[];
  templating: {
    list?: Array<{
      name: string;
      query: string;
      datasource: { type: string; uid: string };
      current?: { value: string };
      includeAll?: boolean;
      allValue?: string;
      /** Grafana keeps the options this regex matches, the first capture group as the value */
      regex?: string;
    }>;
  };
}

/** A panel; a row holds its panels when collapsed, and has no targets. */
export interface PanelJson {
  title: string;
  type: string;
  targets?: Target[];
  panels?: PanelJson[];
}

/** What a datasource uid leads to: how to run one query there. */
export type Runner = (query: string) => Promise<QueryOutcome>;

export interface QueryOutcome {
  /** rows / points with at least one finite number (or, for variables, values) */
  rows: number;
  values: string[];
  error?: string;
}

export interface RunReport {
  dashboard: string;
  panel: string;
  refId: string;
  query: string;
  outcome: QueryOutcome;
}

export const dialectOf = (type: string): Dialect =>
  type === 'influxdb' ? 'influxql' : type === 'prometheus' ? 'promql' : 'sql';

/** The panels with queries, those of rows included (a collapsed row holds its panels). */
export function queryPanels(d: { panels: PanelJson[] }): PanelJson[] {
  return d.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}

/** Grafana's variable regex: `/re/flags`, the options it matches, the first group (or the match) as value. */
function applyRegex(values: string[], regex: string | undefined): string[] {
  if (!regex) return values;
  const m = /^\/(.*)\/([a-z]*)$/.exec(regex);
  const re = m ? new RegExp(m[1], m[2]) : new RegExp(regex);
  return values.flatMap((v) => {
    const hit = re.exec(v);
    return hit ? [hit[1] ?? hit[0]] : [];
  });
}

/**
 * The variables resolved in order, as Grafana does on load: "All" (or no current value on an "All"
 * variable) is every option, a set current value is that value, no current value otherwise the first option.
 */
export async function resolveVariables(
  d: DashboardJson,
  runners: Map<string, Runner>,
  range: TimeRange,
  intervalSeconds = 3600,
  run: (runner: Runner, query: string) => Promise<QueryOutcome> = (r, q) => r(q),
): Promise<{ vars: Record<string, VariableValue>; reports: RunReport[] }> {
  const vars: Record<string, VariableValue> = {};
  const reports: RunReport[] = [];
  for (const v of d.templating.list ?? []) {
    const runner = runners.get(v.datasource.uid);
    if (!runner) throw new Error(`${d.title}: no datasource ${v.datasource.uid} for variable ${v.name}`);
    const query = interpolate(v.query, dialectOf(v.datasource.type), vars, range, intervalSeconds);
    const outcome = await run(runner, query);
    const values = applyRegex(outcome.values, v.regex);
    reports.push({ dashboard: d.title, panel: `$${v.name}`, refId: '-', query, outcome: { ...outcome, values } });
    const current = v.current?.value;
    if (current === '$__all' || (current === undefined && v.includeAll))
      vars[v.name] = { values, all: true, allValue: v.allValue };
    else vars[v.name] = { values: current === undefined ? values.slice(0, 1) : [current] };
  }
  return { vars, reports };
}

/** A target's query with the variables and the time range substituted. */
export function targetQuery(
  target: Target,
  vars: Record<string, VariableValue>,
  range: TimeRange,
  intervalSeconds = 3600,
): string {
  const raw = target.query ?? target.rawSql ?? target.expr ?? '';
  return interpolate(raw, dialectOf(target.datasource.type), vars, range, intervalSeconds);
}

export async function runDashboard(
  d: DashboardJson,
  runners: Map<string, Runner>,
  range: TimeRange,
  intervalSeconds = 3600,
): Promise<{ variables: RunReport[]; panels: RunReport[] }> {
  const { vars, reports: variables } = await resolveVariables(d, runners, range, intervalSeconds);
  const panels: RunReport[] = [];
  for (const p of queryPanels(d)) {
    for (const target of p.targets ?? []) {
      const run = runners.get(target.datasource.uid);
      if (!run) throw new Error(`${d.title} / ${p.title}: no datasource ${target.datasource.uid}`);
      const query = targetQuery(target, vars, range, intervalSeconds);
      panels.push({ dashboard: d.title, panel: p.title, refId: target.refId, query, outcome: await run(query) });
    }
  }
  return { variables, panels };
}

const finite = (v: unknown): boolean => v !== null && v !== '' && Number.isFinite(Number(v));

/** InfluxQL over the 1.x HTTP API as `user` (the datasource's user and password). */
export function influxRunner(url: string, db: string, user: string, password: string): Runner {
  return async (q) => {
    const u = new URL('/query', url);
    u.searchParams.set('db', db);
    u.searchParams.set('epoch', 'ms');
    const res = await fetch(u, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ q }).toString(),
    });
    const body = (await res.json().catch(() => ({}))) as {
      error?: string;
      results?: Array<{ error?: string; series?: Array<{ columns: string[]; values: unknown[][] }> }>;
    };
    const error = body.error ?? body.results?.[0]?.error;
    if (!res.ok || error) return { rows: 0, values: [], error: `HTTP ${res.status} ${error ?? ''}` };
    let rows = 0;
    const values: string[] = [];
    for (const s of body.results?.[0]?.series ?? []) {
      const isShow = s.columns[0] === 'key' && s.columns[1] === 'value';
      for (const row of s.values) {
        if (isShow) values.push(String(row[1]));
        else if (row.some((v, i) => s.columns[i] !== 'time' && finite(v))) rows++;
      }
    }
    return { rows: rows + values.length, values };
  };
}

/** SQL as the datasource's login. */
export function pgRunner(pool: pg.Pool): Runner {
  return async (q) => {
    try {
      const r = await pool.query(q);
      const rows = r.rows.filter((row) =>
        Object.values(row as Record<string, unknown>).some(
          (v) => typeof v === 'number' || (typeof v === 'string' && finite(v)),
        ),
      ).length;
      return { rows, values: r.rows.map((row) => String(Object.values(row as Record<string, unknown>)[0])) };
    } catch (err) {
      return { rows: 0, values: [], error: `${(err as { code?: string }).code ?? ''} ${(err as Error).message}` };
    }
  };
}

/** PromQL over Prometheus's HTTP API: label_values() as /api/v1/label, the rest as query_range. */
export function prometheusRunner(url: string, range: TimeRange, stepSeconds = 15): Runner {
  return async (q) => {
    const lv = q.match(/^label_values\((\w+),\s*(\w+)\)$/);
    if (lv) {
      const u = new URL(`/api/v1/label/${lv[2]}/values`, url);
      u.searchParams.set('match[]', lv[1]);
      u.searchParams.set('start', String(range.from.getTime() / 1000));
      u.searchParams.set('end', String(range.to.getTime() / 1000));
      const body = (await (await fetch(u)).json()) as { status: string; data: string[]; error?: string };
      return body.status === 'success'
        ? { rows: body.data.length, values: body.data }
        : { rows: 0, values: [], error: body.error };
    }
    const u = new URL('/api/v1/query_range', url);
    u.searchParams.set('query', q);
    u.searchParams.set('start', String(range.from.getTime() / 1000));
    u.searchParams.set('end', String(range.to.getTime() / 1000));
    u.searchParams.set('step', String(stepSeconds));
    const body = (await (await fetch(u)).json()) as {
      status: string;
      error?: string;
      data?: { result: Array<{ values: Array<[number, string]> }> };
    };
    if (body.status !== 'success') return { rows: 0, values: [], error: body.error };
    const rows = (body.data?.result ?? []).reduce((n, s) => n + s.values.filter(([, v]) => finite(v)).length, 0);
    return { rows, values: [] };
  };
}
