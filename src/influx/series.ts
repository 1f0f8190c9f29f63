import { seriesPrefix } from './line-protocol.js';
import type { FileHeader } from '../tsv/header.js';
import type { SeriesTable } from '../tsv/block-parser.js';

export const MEASUREMENT = 'electrical';

/** Where a file sits: `<root>/<company>/<campaign>/<device>/<file>`. */
export interface FileIdentity {
  tenant: string;
  campaign: string;
  /** the device folder, when there is one (the header's master serial wins for tags) */
  device?: string;
}

/** Per-channel series prefixes, built once per file (docs/architecture.md#influxdb-output). */
export function buildSeriesTable(header: FileHeader, identity: FileIdentity): SeriesTable {
  const parts = header.channels.map((c) =>
    Buffer.from(
      seriesPrefix(
        MEASUREMENT,
        {
          campaign: identity.campaign,
          channel_id: c.channelId,
          channel_label: c.label,
          channel_name: c.name,
          channel_unit: c.unit,
          device: 'MV2',
          device_master_sn: header.masterSn,
          device_sn: c.deviceSn,
          device_subtype: c.deviceSubtype,
          device_type: c.deviceType,
        },
        c.fieldKey,
      ),
    ),
  );
  // shared memory: every block task of the file refers to it instead of carrying a copy
  const offsets = new Int32Array(new SharedArrayBuffer(4 * (parts.length + 1)));
  for (let i = 0; i < parts.length; i++) offsets[i + 1] = offsets[i] + parts[i].length;
  const prefixes = new Uint8Array(new SharedArrayBuffer(Math.max(1, offsets[parts.length])));
  parts.forEach((p, i) => prefixes.set(p, offsets[i]));
  return { prefixes, offsets };
}
