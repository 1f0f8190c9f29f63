import type { ClientBase } from 'pg';
import type { Finding } from '../model/quality.js';
import { gapFinding, gapsOf } from '../quality/gaps.js';
import { DEFAULT_THRESHOLDS } from '../quality/thresholds.js';
import { tenantOf, type CommitInput } from './commit-types.js';

/**
 * Data-quality findings in PostgreSQL (docs/reports.md#quality-rules): a
 * file's own findings, its layout change and the gaps around it, written in
 * its commit's transaction (the tenants' thresholds: thresholds-store.ts).
 */

/** What a commit found beyond the file's own findings: its layout change and gaps, and gaps it closed. */
export interface CommitQuality {
  findings: Finding[];
  gapsClosed: number;
  /** the file's own findings the device's history overrules (negative power on a channel negative before) */
  dropped: Finding[];
}

const NEGATIVE_BEFORE = `SELECT EXISTS (SELECT 1 FROM core.hourly WHERE tenant = $1 AND device_master_sn = $2
  AND channel_id = $3 AND hour < to_timestamp($4) AND min_value < 0) AS negative`;

/**
 * Negative power is a finding only on a channel whose earlier data is never
 * negative: the file saw none before the run, and the device's stored hours
 * before the run's hour hold none either (one look-up per finding, rare).
 */
async function negativeBefore(client: ClientBase, input: CommitInput, f: Finding): Promise<boolean> {
  const hour = f.tStart - (f.tStart % 3600);
  const r = await client.query<{ negative: boolean }>(NEGATIVE_BEFORE, [
    tenantOf(input),
    input.agg.header.masterSn,
    f.channelId,
    hour,
  ]);
  return r.rows[0].negative;
}

/**
 * The findings of a commit in one statement: the gaps it closed (closed_at)
 * and the rows it found, each owned by its file or by the series (NULL).
 */
const WRITE = `WITH closed AS (
    UPDATE core.quality_events SET closed_at = now() WHERE event_id = ANY($12::bigint[]) RETURNING 1)
  INSERT INTO core.quality_events
    (tenant, campaign, device_master_sn, channel_id, kind, severity, t_start, t_end, measure, detail, file_id)
  SELECT $1, $2, $3, u.ch, u.k, u.sev, to_timestamp(u.ts), to_timestamp(u.te), u.m, u.d, u.f
    FROM unnest($4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[], $9::float8[], $10::jsonb[],
                $11::bigint[]) AS u(ch, k, sev, ts, te, m, d, f)`;

async function writeFindings(
  client: ClientBase,
  input: CommitInput,
  rows: ReadonlyArray<{ f: Finding; fileId: number | null }>,
  closed: readonly string[],
): Promise<void> {
  if (rows.length === 0 && closed.length === 0) return;
  await client.query(WRITE, [
    tenantOf(input),
    input.report.campaign,
    input.agg.header.masterSn,
    rows.map((r) => r.f.channelId),
    rows.map((r) => r.f.kind),
    rows.map((r) => r.f.severity),
    rows.map((r) => r.f.tStart),
    rows.map((r) => r.f.tEnd),
    rows.map((r) => r.f.measure),
    rows.map((r) => JSON.stringify(r.f.detail)),
    rows.map((r) => r.fileId),
    closed,
  ]);
}

/**
 * The quality part of a commit, after the file's ledger row and coverage are
 * written (same transaction): its own findings (owned by its ledger row:
 * --force and removal delete them), the layout change, the device's step,
 * and the gaps of its window.
 */
export async function writeQuality(client: ClientBase, fileId: number, input: CommitInput): Promise<CommitQuality> {
  const own: Finding[] = [];
  const dropped: Finding[] = [];
  for (const f of input.agg.quality?.findings ?? []) {
    if (f.kind === 'negative_power' && (await negativeBefore(client, input, f))) dropped.push(f);
    else own.push(f);
  }
  const extra: Finding[] = [];
  const range = fileRange(input);
  if (input.layoutDrift && range) {
    extra.push({
      kind: 'layout_change',
      severity: 'info',
      channelId: null,
      tStart: range.start,
      tEnd: range.end,
      measure: null,
      detail: { from: input.knownLayout ?? null, to: input.agg.header.layout },
    });
  }
  const ownRows = [...own, ...extra].map((f) => ({ f, fileId }));
  if (!range) {
    await writeFindings(client, input, ownRows, []);
    return { findings: extra, gapsClosed: 0, dropped };
  }
  const gaps = await gapChanges(client, fileId, input, range);
  await writeFindings(client, input, [...ownRows, ...gaps.rows], gaps.closed);
  return { findings: [...extra, ...gaps.rows.map((r) => r.f)], gapsClosed: gaps.closed.length, dropped };
}

/** The span of timestamps the file wrote (all channels), null when it wrote none. */
function fileRange(input: CommitInput): { start: number; end: number } | null {
  let start = Infinity;
  let end = -Infinity;
  for (const runs of input.agg.coverage) {
    for (const r of runs) {
      if (r.start < start) start = r.start;
      const e = r.start + r.step * (r.n - 1);
      if (e > end) end = e;
    }
  }
  return start <= end ? { start, end } : null;
}

const STEP = `SELECT step FROM core.coverage WHERE tenant = $1 AND device_master_sn = $2 AND n > 1
  GROUP BY step ORDER BY sum(n - 1) DESC, step LIMIT 1`;
/**
 * What the gaps of a file's window need, in one round trip: the device's
 * stored step; the window, from the device's last covered time before the
 * file to its first after it; the coverage spans and the open gaps there.
 */
const GAP_CONTEXT = `WITH w AS (SELECT
    coalesce((SELECT max(t_end) FROM core.coverage WHERE tenant = $1 AND device_master_sn = $2 AND t_end < $3), $3)
      AS lo,
    coalesce((SELECT min(t_start) FROM core.coverage
               WHERE tenant = $1 AND device_master_sn = $2 AND t_end > $4 AND t_start > $4), $4) AS hi)
  SELECT w.lo::float8 AS lo, w.hi::float8 AS hi,
    (SELECT step_s FROM core.devices WHERE tenant = $1 AND device_master_sn = $2) AS step_s,
    (SELECT coalesce(json_agg(json_build_array(s.t_start, s.step, s.n)), '[]') FROM (
       SELECT DISTINCT t_start, step, n FROM core.coverage
        WHERE tenant = $1 AND device_master_sn = $2 AND t_end >= w.lo AND t_start <= w.hi) s) AS spans,
    (SELECT coalesce(json_agg(json_build_array(q.event_id::text, extract(epoch FROM q.t_start)::float8,
                                               extract(epoch FROM q.t_end)::float8)), '[]')
       FROM core.quality_events q
      WHERE q.tenant = $1 AND q.device_master_sn = $2 AND q.kind = 'gap' AND q.closed_at IS NULL
        AND q.t_end >= to_timestamp(w.lo) AND q.t_start <= to_timestamp(w.hi)) AS open
  FROM w`;

interface GapContext {
  lo: number;
  hi: number;
  step_s: number | null;
  spans: Array<[number, number, number]>;
  open: Array<[string, number, number]>;
}

/**
 * core.devices.step_s, kept at the device's most common step: samples at the
 * stored step keep it the most common, so the device's coverage is counted
 * again only when the file's own most common step differs (or --force took
 * a file out).
 */
async function deviceStep(
  client: ClientBase,
  tenant: string,
  device: string,
  input: CommitInput,
  current: number | null,
) {
  if (current !== null && input.replace === null && fileStep(input) === current) return current;
  const counted = await client.query<{ step: number }>(STEP, [tenant, device]);
  const step = counted.rows.at(0)?.step ?? null;
  if (step !== current) {
    await client.query('UPDATE core.devices SET step_s = $3 WHERE tenant = $1 AND device_master_sn = $2', [
      tenant,
      device,
      step,
    ]);
  }
  return step;
}

/** The file's most common step over its coverage runs (samples per step), null when it has no run of two. */
function fileStep(input: CommitInput): number | null {
  const totals = new Map<number, number>();
  for (const runs of input.agg.coverage)
    for (const r of runs) if (r.n > 1) totals.set(r.step, (totals.get(r.step) ?? 0) + r.n - 1);
  let best: number | null = null;
  for (const [step, n] of totals)
    if (best === null || n > totals.get(best)! || (n === totals.get(best)! && step < best)) best = step;
  return best;
}

/**
 * Incremental gaps: the window from the device's last covered time before
 * the file to its first after it is examined again; open gaps there that
 * are no longer gaps are to be closed, the gaps now there inserted (owned
 * by the file when inside its span, by the series otherwise).
 */
async function gapChanges(
  client: ClientBase,
  fileId: number,
  input: CommitInput,
  range: { start: number; end: number },
): Promise<{ rows: Array<{ f: Finding; fileId: number | null }>; closed: string[] }> {
  const tenant = tenantOf(input);
  const device = input.agg.header.masterSn;
  const ctx = (await client.query<GapContext>(GAP_CONTEXT, [tenant, device, range.start, range.end])).rows[0];
  const step = await deviceStep(client, tenant, device, input, ctx.step_s);
  if (step === null) return { rows: [], closed: [] };
  const { lo: from, hi: to } = ctx;
  const minSamples = input.agg.quality?.thresholds.gap_min_samples ?? DEFAULT_THRESHOLDS.gap_min_samples;
  const now = gapsOf(
    ctx.spans.map(([start, s, n]) => ({ start, step: s, n })),
    step,
    minSamples,
  ).filter((g) => g.tEnd >= from && g.tStart <= to);
  const kept = new Set<string>();
  const closed: string[] = [];
  for (const [id, ts, te] of ctx.open) {
    const same = now.find((g) => g.tStart === ts && g.tEnd === te);
    if (same) kept.add(`${same.tStart}/${same.tEnd}`);
    else closed.push(id);
  }
  const found = now.filter((g) => !kept.has(`${g.tStart}/${g.tEnd}`)).map((g) => gapFinding(g, step));
  const inside = (f: Finding) => f.tStart >= range.start && f.tEnd <= range.end;
  return { rows: found.map((f) => ({ f, fileId: inside(f) ? fileId : null })), closed };
}
