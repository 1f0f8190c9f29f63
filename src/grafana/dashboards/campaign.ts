/* eslint-disable @typescript-eslint/no-deprecated --
   the provisioned files are the v1 dashboard model Grafana file provisioning reads; dashboardv2 is another format */
import { DashboardBuilder, DashboardCursorSync } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import { ReduceDataOptionsBuilder, VizOrientation, BarGaugeDisplayMode } from '@grafana/grafana-foundation-sdk/common';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { MEASUREMENT } from '../../influx/series.js';
import { uids } from '../names.js';
import { InfluxQLBuilder, SqlBuilder, influxRef, postgresRef, sql } from '../queries.js';
import { finish, grid, timeseries, queryVariable, tagLink, tenantTag } from './common.js';

/** The hourly aggregates a tenant's PostgreSQL login may read (row-level security keeps it to the tenant). */
export const HOURLY_VIEW = 'bi.vw_metabase_channel_hourly';

/**
 * InfluxQL for one unit's curves: the field key of a channel is
 * `<channel_id>_<unit>` (docs/architecture.md#influxdb-output), so the channels picked in `$channel`
 * select the fields, one series per channel.
 */
export function curveQuery(unit: 'W' | 'V'): string {
  return (
    `SELECT mean(/^\${channel:regex}_${unit}$/) FROM "${MEASUREMENT}"` +
    ` WHERE "campaign" =~ /^\${campaign:regex}$/ AND "device_master_sn" =~ /^\${device:regex}$/ AND $timeFilter` +
    ` GROUP BY time($__interval) fill(none)`
  );
}

function curvePanel(
  title: string,
  unit: 'W' | 'V',
  grafanaUnit: string,
  influx: ReturnType<typeof influxRef>,
  y: number,
): TimeseriesPanel {
  return (
    timeseries()
      .title(title)
      .description(`Mean of each selected channel's ${unit} values per interval (InfluxDB, raw points).`)
      .datasource(influx)
      .withTarget(new InfluxQLBuilder(influx, curveQuery(unit)))
      // InfluxDB names the columns mean_<field>: show the channel id
      .withTransformation({
        id: 'renameByRegex',
        options: { regex: `^(?:.*\\.)?mean_(.+)_${unit}$`, renamePattern: '$1' },
      })
      .unit(grafanaUnit)
      .fillOpacity(5)
      .spanNulls(false)
      .gridPos(grid(0, y, 24, 9))
  );
}

/** Per campaign: power and voltage curves per channel, energy per channel over the period, completeness per device. */
export function campaignDashboard(tenant: string, campaign: string): Dashboard {
  const influx = influxRef(uids.influxDatasource(tenant));
  const pg = postgresRef(uids.pgDatasource(tenant));
  const energy = sql`
    SELECT channel_id AS channel, sum(energy_wh) / 1000 AS energy_kwh
      FROM ${HOURLY_VIEW}
     WHERE campaign IN ($campaign) AND device_master_sn IN ($device) AND channel_id IN ($channel)
       AND channel_unit = 'W' AND $__timeFilter(hour)
     GROUP BY channel_id
     ORDER BY channel_id`;
  // completeness of a channel: its samples / (its fullest hour's samples × the hours from its first to
  // its last sample)
  const completeness = sql`
    WITH per_channel AS (
      SELECT device_master_sn, channel_id, sum(samples) AS samples, max(samples) AS per_hour,
             extract(epoch FROM max(hour) - min(hour)) / 3600 + 1 AS hours
        FROM ${HOURLY_VIEW}
       WHERE campaign IN ($campaign) AND device_master_sn IN ($device) AND $__timeFilter(hour)
       GROUP BY device_master_sn, channel_id
    )
    SELECT device_master_sn AS device, 100 * sum(samples) / sum(per_hour * hours) AS completeness_pct
      FROM per_channel
     GROUP BY device_master_sn
     ORDER BY device_master_sn`;
  const samples = sql`
    SELECT hour AS "time", device_master_sn AS metric, sum(samples) / count(DISTINCT channel_id) AS samples_per_channel
      FROM ${HOURLY_VIEW}
     WHERE campaign IN ($campaign) AND device_master_sn IN ($device) AND $__timeFilter(hour)
     GROUP BY hour, device_master_sn
     ORDER BY hour, device_master_sn`;

  const builder = new DashboardBuilder(`${tenant} / ${campaign}`)
    .uid(uids.campaignDashboard(tenant, campaign))
    .description(
      `Campaign ${campaign} of ${tenant}: curves from InfluxDB, energy and completeness from the PostgreSQL hourly ` +
        `aggregates.`,
    )
    .tags(['powerview', 'campaign', tenantTag(tenant)])
    .timezone('browser')
    .time({ from: 'now-7d', to: 'now' })
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly()
    .link(tagLink(`${tenant} dashboards`, tenantTag(tenant)))
    .withVariable(
      queryVariable('campaign', 'Campaign', influx, `SHOW TAG VALUES FROM "${MEASUREMENT}" WITH KEY = "campaign"`, {
        current: campaign,
      }),
    )
    .withVariable(
      queryVariable(
        'device',
        'Device',
        influx,
        `SHOW TAG VALUES FROM "${MEASUREMENT}" WITH KEY = "device_master_sn" WHERE "campaign" =~ ` +
          `/^\${campaign:regex}$/`,
        { multi: true, all: true },
      ),
    )
    .withVariable(
      queryVariable(
        'channel',
        'Channel',
        influx,
        `SHOW TAG VALUES FROM "${MEASUREMENT}" WITH KEY = "channel_id" WHERE "campaign" =~ /^\${campaign:regex}$/ ` +
          `AND "device_master_sn" =~ /^\${device:regex}$/`,
        { multi: true, all: true },
      ),
    )
    .withPanel(curvePanel('Power (W) per channel', 'W', 'watt', influx, 0))
    .withPanel(curvePanel('Voltage (V) per channel', 'V', 'volt', influx, 9))
    .withPanel(
      new BarGaugePanel()
        .title('Energy per channel over the period (kWh)')
        .description(
          'Σ energy_wh of the hourly aggregates of the W channels whose hours start in the selected period ' +
            '(exactly-once: overlapping re-exports count once).',
        )
        .datasource(pg)
        .withTarget(new SqlBuilder(pg, energy, 'table'))
        .unit('kwatth')
        .decimals(2)
        .orientation(VizOrientation.Horizontal)
        .displayMode(BarGaugeDisplayMode.Basic)
        .reduceOptions(new ReduceDataOptionsBuilder().values(true).calcs([]).fields('/^energy_kwh$/'))
        .gridPos(grid(0, 18, 12, 10)),
    )
    .withPanel(
      new BarGaugePanel()
        .title('Data completeness per device (%)')
        .description(
          "Samples received / samples expected, per device: each channel's expected rate is its fullest hour, over " +
            'the hours from its first to its last sample in the period.',
        )
        .datasource(pg)
        .withTarget(new SqlBuilder(pg, completeness, 'table'))
        .unit('percent')
        .decimals(1)
        .min(0)
        .max(100)
        .orientation(VizOrientation.Horizontal)
        .displayMode(BarGaugeDisplayMode.Gradient)
        .reduceOptions(new ReduceDataOptionsBuilder().values(true).calcs([]).fields('/^completeness_pct$/'))
        .gridPos(grid(12, 18, 12, 10)),
    )
    .withPanel(
      timeseries()
        .title('Samples per channel and hour, per device')
        .description('Gaps and dips show missing data (PostgreSQL hourly aggregates).')
        .datasource(pg)
        .withTarget(new SqlBuilder(pg, samples, 'time_series'))
        .unit('short')
        .gridPos(grid(0, 28, 24, 8)),
    );
  return finish(builder);
}
