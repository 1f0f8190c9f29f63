import type { FileHeader } from '../tsv/header.js';
import { H } from '../tsv/block-parser.js';
import type { Run } from '../model/values.js';
import { copyField, copyNumber as num, copyRow } from './copy-encoder.js';

/** Columns of staging.hourly_partials, in the order `hourlyRows` writes them. */
export const HOURLY_COLUMNS = [
  'batch_id',
  'file_id',
  'tenant',
  'campaign',
  'device_master_sn',
  'channel_id',
  'channel_unit',
  'hour',
  'samples',
  'sum_value',
  'min_value',
  'max_value',
  'first_time',
  'first_value',
  'last_time',
  'last_value',
  'energy_wh',
] as const;

/** One file's hourly partials as COPY rows of staging.hourly_partials. */
export function* hourlyRows(
  batch: number,
  fileId: number,
  tenant: string,
  campaign: string,
  header: FileHeader,
  hourly: Map<number, Float64Array>,
): Generator<string> {
  // the text columns of a channel are the same on every row: escaped once per file
  const prefixes = header.channels.map(
    (ch) => [batch, fileId, tenant, campaign, header.masterSn, ch.channelId, ch.unit].map(copyField).join('\t') + '\t',
  );
  const iso = isoCache();
  for (const p of hourly.values()) {
    const c = p[H.channel];
    const energy = header.channels[c].unit === 'W' ? num(p[H.energy] / 3600) : '\\N';
    const first = `${iso(p[H.firstTime])}\t${num(p[H.firstValue])}`;
    const last = `${iso(p[H.lastTime])}\t${num(p[H.lastValue])}`;
    const stats = `${num(p[H.samples])}\t${num(p[H.sum])}\t${num(p[H.min])}\t${num(p[H.max])}`;
    yield `${prefixes[c]}${iso(p[H.hour])}\t${stats}\t${first}\t${last}\t${energy}`;
  }
}

/** The channels of a row share their hour and mostly their first/last times: each formatted once. */
function isoCache(): (epoch: number) => string {
  const stamps = new Map<number, string>();
  return (epoch) => {
    let text = stamps.get(epoch);
    if (text === undefined) {
      text = new Date(epoch * 1000).toISOString();
      stamps.set(epoch, text);
    }
    return text;
  };
}

/** Columns of core.coverage, in the order `coverageRows` writes them. */
export const COVERAGE_COLUMNS = [
  'tenant',
  'device_master_sn',
  'channel_id',
  'file_id',
  't_start',
  'step',
  'n',
] as const;

/** One file's coverage runs (per channel index) as COPY rows of core.coverage. */
export function* coverageRows(
  fileId: number,
  tenant: string,
  header: FileHeader,
  coverage: Run[][],
): Generator<string> {
  for (let c = 0; c < coverage.length; c++) {
    for (const r of coverage[c]) {
      yield copyRow([tenant, header.masterSn, header.channels[c].channelId, fileId, r.start, r.step, r.n]);
    }
  }
}
