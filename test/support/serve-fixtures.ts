/**
 * Synthetic logger files for the serve tests (overlapping re-exports of one
 * long recording per device), their delivery into the data root, and what
 * the stores must hold once they are ingested: the pipeline's own dry run.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generateFile } from '../../fixtures/generate.js';
import { discover } from '../../src/pipeline/discover.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { pointsOfLp } from './services.js';

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

export interface DeviceSpec {
  masterSn: string;
  /** files of this device */
  files: number;
  /** data rows per file */
  rows: number;
  /** rows each file shares with the previous one (identical lines: a re-export) */
  overlap: number;
  channels?: number;
  step?: number;
  /** first row, epoch seconds (UTC, declared UTC in the V003 header) */
  start?: number;
  seed?: number;
}

/**
 * One device's files under `<root>/<company>/<campaign>/<sn>/`: consecutive
 * windows of one long V003 recording, each overlapping the previous by
 * `overlap` identical rows, named `MV2_<sn>_<export time>.tsv` (the time of
 * the window's last row, so names sort in export order). Returns the paths.
 */
export function writeDeviceFiles(root: string, company: string, campaign: string, spec: DeviceSpec): string[] {
  const step = spec.step ?? 60;
  const start = spec.start ?? Date.UTC(2025, 5, 1) / 1000;
  const stride = spec.rows - spec.overlap;
  const total = stride * (spec.files - 1) + spec.rows;
  const text = [
    ...generateFile({
      format: 'v003',
      masterSn: spec.masterSn,
      channels: spec.channels ?? 6,
      slaves: 0,
      slaveChannels: 0,
      rows: total,
      start,
      step,
      defects: [],
      seed: spec.seed ?? 7,
    }),
  ].join('');
  const lines = text.split('\n');
  const header = lines.slice(0, 6);
  const data = lines.slice(6, 6 + total);
  if (lines[6 + total] !== 'END_DATA') throw new Error('unexpected generated layout');
  const dir = join(root, company, campaign, spec.masterSn);
  mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  for (let f = 0; f < spec.files; f++) {
    const first = f * stride;
    const last = start + (first + spec.rows - 1) * step;
    const name = `MV2_${spec.masterSn}_${new Date(last * 1000).toISOString().replace(/[-:]/g, '').slice(0, 15)}.tsv`;
    const path = join(dir, name);
    writeFileSync(path, [...header, ...data.slice(first, first + spec.rows), 'END_DATA', ''].join('\n'));
    out.push(path);
  }
  return out;
}

/** A device serial for the n-th device of a test. */
export const serial = (n: number): string => String(2_100_000 + n * 13).padStart(8, '0');

/** The devices' files taken in turn: the first of each device, then the second of each, and so on. */
export function roundRobin(perDevice: string[][]): string[] {
  const out: string[] = [];
  const most = Math.max(0, ...perDevice.map((files) => files.length));
  for (let i = 0; i < most; i++) for (const files of perDevice) if (i < files.length) out.push(files[i]);
  return out;
}

/** Moves files staged under `stage` to the same place under `root` (rename: they appear complete). */
export function deliver(stage: string, root: string, paths: string[]): string[] {
  return paths.map((p) => {
    const to = join(root, p.slice(stage.length + 1));
    mkdirSync(dirname(to), { recursive: true });
    renameSync(p, to);
    return to;
  });
}

/** The same path under another root. */
export const rebase = (from: string, to: string, p: string): string => join(to, p.slice(from.length + 1));

// ---------------------------------------------------------------- expectations

export interface Expected {
  /** distinct points `measurement,tags field time` → value (pointsOf's keys) */
  points: Map<string, number>;
  /** data rows of all files */
  rows: number;
  /** points of all files, overlaps counted each time */
  allPoints: number;
  /** rows a later file brings again (total rows − distinct rows per device) */
  duplicateRows: number;
  /** `device channel hour` → samples and sum */
  hourly: Map<string, { samples: number; sum: number }>;
  /** sha256 of each file's bytes */
  sha256: string[];
  files: number;
}

/**
 * What the stores must hold once `paths` (all under `root`) are ingested:
 * the pipeline's own line protocol (a dry run, on this thread), reduced to
 * its distinct points.
 */
export async function expectedOf(root: string, paths: string[]): Promise<Expected> {
  const tasks = await discover(paths, { root });
  const parts: Buffer[] = [];
  const sink = {
    write(chunk: Uint8Array) {
      parts.push(Buffer.from(chunk)); // copied: the pipeline reuses the memory
    },
    async close() {},
  };
  const p = new Pipeline({ workers: 0, sink });
  let reports;
  try {
    reports = await p.run(tasks);
  } finally {
    await p.close();
  }
  for (const r of reports)
    if (r.status !== 'ok') throw new Error(`fixture ${r.path} does not parse: ${r.error?.message}`);
  const lp = Buffer.concat(parts).toString('utf8');
  const points = new Map<string, number>();
  let allPoints = 0;
  for (const [k, v] of pointsOfLp(lp)) points.set(k, v);
  for (const line of lp.split('\n')) if (line) allPoints++;
  const rows = reports.reduce((s, r) => s + r.rows, 0);
  const deviceRows = new Map<string, Set<number>>();
  const hourly = new Map<string, { samples: number; sum: number }>();
  for (const [key, v] of points) {
    // tag values may hold spaces (channel_name=Ph 1): the field and the time are the last two words
    const i2 = key.lastIndexOf(' ');
    const series = key.slice(0, key.lastIndexOf(' ', i2 - 1));
    const tag = (name: string) => new RegExp(`,${name}=([^,]*)`).exec(series)?.[1] ?? '';
    const t = Number(key.slice(i2 + 1));
    const dev = tag('device_master_sn');
    let set = deviceRows.get(dev);
    if (!set) deviceRows.set(dev, (set = new Set()));
    set.add(t);
    const hk = `${dev} ${tag('channel_id')} ${Math.floor(t / 3600) * 3600}`;
    const h = hourly.get(hk) ?? { samples: 0, sum: 0 };
    h.samples++;
    h.sum += v;
    hourly.set(hk, h);
  }
  const distinctRows = [...deviceRows.values()].reduce((s, x) => s + x.size, 0);
  return {
    points,
    rows,
    allPoints,
    duplicateRows: rows - distinctRows,
    hourly,
    sha256: paths.map((p) => sha256(readFileSync(p))),
    files: paths.length,
  };
}
