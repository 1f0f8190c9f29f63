/**
 * A CampaignReport value built in memory, consistent with itself (daily and
 * total energy are sums of the hourly rows, peaks are the hourly maxima), for
 * the renderers' tests: no service needed. Deterministic for given options.
 */
import type {
  CampaignReport,
  ChannelSummary,
  DailyEnergy,
  DeviceSummary,
  HourlyRow,
  QualityRow,
} from '../../src/report/model.js';

export interface ReportFixtureOptions {
  readonly devices?: number;
  /** power channels per device (W), each followed by none or one voltage channel */
  readonly powerChannels?: number;
  readonly voltageChannels?: number;
  readonly days?: number;
  readonly findings?: number;
  readonly timeZone?: string;
  /** UTC midnight of the first day; the period starts at local midnight of that date */
  readonly start?: string;
}

const HOUR = 3_600_000;

/** a smooth daily load curve per channel: base + a daytime bump, in W */
function power(channel: number, hourOfDay: number, day: number): number {
  const bump = Math.max(0, Math.sin(((hourOfDay - 6) / 14) * Math.PI));
  return 200 * (channel + 1) + 900 * (channel + 1) * bump + 37 * ((day * 7 + channel) % 5);
}

function finding(i: number, device: string, from: number): QualityRow {
  const kinds = ['gap', 'clock_reset', 'reexport_conflict', 'stuck_value', 'voltage_out_of_band'];
  return {
    kind: kinds[i % kinds.length],
    severity: i % 3 === 0 ? 'warning' : 'info',
    deviceMasterSn: device,
    channelId: i % 2 === 0 ? 'ch1' : null,
    tStart: new Date(from + i * 5 * HOUR).toISOString(),
    tEnd: new Date(from + i * 5 * HOUR + 2 * HOUR).toISOString(),
    measure: i % 4 === 0 ? 120 + i : 3.25 * i,
    detail: { missing: 12 + i, step_s: 60 },
    file: `${device}_2025-03-0${(i % 9) + 1}.tsv`,
    open: i % 5 !== 4,
  };
}

export function reportFixture(options: ReportFixtureOptions = {}): CampaignReport {
  const nDevices = options.devices ?? 2;
  const nPower = options.powerChannels ?? 3;
  const nVolt = options.voltageChannels ?? 1;
  const days = options.days ?? 7;
  const timeZone = options.timeZone ?? 'Europe/Zurich';
  // Europe/Zurich is UTC+1 in early March: local midnight is 23:00 UTC the day before
  const from = Date.parse(options.start ?? '2025-02-28T23:00:00Z');
  const to = from + days * 24 * HOUR;
  const devices: DeviceSummary[] = [];
  const channels: ChannelSummary[] = [];
  const hourly: HourlyRow[] = [];
  const daily: DailyEnergy[] = [];
  let total = 0;
  for (let d = 0; d < nDevices; d++) {
    const sn = `SN${String(4100 + d)}`;
    devices.push({
      deviceMasterSn: sn,
      channels: nPower + nVolt,
      firstTime: new Date(from).toISOString(),
      lastTime: new Date(to - 60_000).toISOString(),
      completeness: d === 0 ? 1 : 0.9583,
    });
    for (let c = 0; c < nPower; c++) {
      const id = `ch${c + 1}`;
      let energy = 0;
      let peakW = -Infinity;
      let peakAt = '';
      for (let day = 0; day < days; day++) {
        let dayKwh = 0;
        for (let h = 0; h < 24; h++) {
          const t = from + (day * 24 + h) * HOUR;
          const mean = power(c + d * nPower, h, day);
          const max = mean * 1.25;
          const kwh = mean / 1000;
          hourly.push({
            hour: new Date(t).toISOString(),
            deviceMasterSn: sn,
            channelId: id,
            unit: 'W',
            samples: 60,
            mean,
            min: mean * 0.8,
            max,
            energyKwh: kwh,
          });
          dayKwh += kwh;
          if (max > peakW) {
            peakW = max;
            peakAt = new Date(t).toISOString();
          }
        }
        const localDay = new Date(from + day * 24 * HOUR + 12 * HOUR).toISOString().slice(0, 10);
        daily.push({ day: localDay, deviceMasterSn: sn, channelId: id, energyKwh: dayKwh });
        energy += dayKwh;
      }
      total += energy;
      channels.push({
        deviceMasterSn: sn,
        channelId: id,
        label: c === 0 ? 'Main feed' : null,
        name: `P${c + 1}`,
        unit: 'W',
        samples: days * 1440,
        energyKwh: energy,
        peakW,
        peakAt,
        minV: null,
        meanV: null,
        maxV: null,
      });
    }
    for (let v = 0; v < nVolt; v++) {
      channels.push({
        deviceMasterSn: sn,
        channelId: `ch${nPower + v + 1}`,
        label: null,
        name: `U${v + 1}`,
        unit: 'V',
        samples: days * 1440,
        energyKwh: null,
        peakW: null,
        peakAt: null,
        minV: 221.4 - d - v,
        meanV: 230.25 + v * 0.5,
        maxV: 243.8 + d,
      });
    }
  }
  const quality = Array.from({ length: options.findings ?? 4 }, (_, i) =>
    finding(i, devices[i % nDevices].deviceMasterSn, from),
  );
  return {
    tenant: 'acme-energy',
    campaign: 'Plant 7 audit',
    period: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), timeZone },
    generatedAt: '2025-03-10T08:30:00.000Z',
    devices,
    channels,
    totalEnergyKwh: total,
    daily,
    hourly,
    quality,
  };
}
