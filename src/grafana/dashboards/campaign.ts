/* eslint-disable @typescript-eslint/no-deprecated --
   the provisioned files are the v1 dashboard model Grafana file provisioning reads; dashboardv2 is another format */
import { DashboardBuilder, DashboardCursorSync } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import { ReduceDataOptionsBuilder, VizOrientation, BarGaugeDisplayMode } from '@grafana/grafana-foundation-sdk/common';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import type * as common from '@grafana/grafana-foundation-sdk/common';
import { MEASUREMENT } from '../../influx/series.js';
import { uids } from '../names.js';
import { InfluxQLBuilder, SqlBuilder, influxRef, postgresRef, sql } from '../queries.js';
import { finish, grid, timeseries, queryVariable, tagLink, tenantTag } from './common.js';
import { completenessPanel, qualityRow } from './quality.js';

/** The hourly aggregates a tenant's PostgreSQL login may read (row-level security keeps it to the tenant). */
export const HOURLY_VIEW = 'bi.vw_metabase_channel_hourly';

/**
 * InfluxQL for one unit's curves of the selected device: the field key of a channel is
 * `<channel_id>_<unit>` and a channel id starts with `M<device>_` (docs/architecture.md#influxdb-output), so
 * the field regex is anchored on the one device and `$channel` holds the rest of the id (its "All" is `.+`).
 * Bounded (docs/grafana.md#bounded-queries): one device's series and fields, whatever the campaign's size.
 */
export function curveQuery(unit: 'W' | 'V'): string {
  return (
    `SELECT mean(/^M\${device:regex}_\${channel:regex}_${unit}$/) FROM "${MEASUREMENT}"` +
    ` WHERE "campaign" = '\${campaign}' AND "device_master_sn" = '\${device}' AND $timeFilter` +
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
      .description(`Mean of the selected channels' ${unit} values of the device per interval (InfluxDB, raw points).`)
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

/**
 * Per campaign: the selected device's power and voltage curves per channel (InfluxDB), energy per device and
 * per channel, completeness per device (PostgreSQL), and the "Data quality" row.
 */
export function campaignDashboard(tenant: string, campaign: string): Dashboard {
  const influx = influxRef(uids.influxDatasource(tenant));
  const pg = postgresRef(uids.pgDatasource(tenant));
  const perDevice = sql`
    SELECT device_master_sn AS device, sum(energy_wh) / 1000 AS energy_kwh
      FROM ${HOURLY_VIEW}
     WHERE campaign IN ($campaign) AND channel_unit = 'W' AND $__timeFilter(hour)
     GROUP BY device_master_sn
     ORDER BY device_master_sn`;
  const perChannel = sql`
    SELECT channel_id AS channel, sum(energy_wh) / 1000 AS energy_kwh
      FROM ${HOURLY_VIEW}
     WHERE campaign IN ($campaign) AND device_master_sn IN ($device) AND channel_unit = 'W' AND $__timeFilter(hour)
     GROUP BY channel_id
     ORDER BY channel_id`;
  const samples = sql`
    SELECT hour AS "time", channel_id AS metric, samples
      FROM ${HOURLY_VIEW}
     WHERE campaign IN ($campaign) AND device_master_sn IN ($device) AND $__timeFilter(hour)
     ORDER BY hour, channel_id`;
  const quality = qualityRow(pg, 38);

  const builder = new DashboardBuilder(`${tenant} / ${campaign}`)
    .uid(uids.campaignDashboard(tenant, campaign))
    .description(
      `Campaign ${campaign} of ${tenant}: one device's curves from InfluxDB; energy, completeness and data ` +
        `quality of every device from PostgreSQL.`,
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
    // one device, never "All": the raw curves stay one device's series (docs/grafana.md#bounded-queries)
    .withVariable(
      queryVariable(
        'device',
        'Device',
        influx,
        `SHOW TAG VALUES FROM "${MEASUREMENT}" WITH KEY = "device_master_sn" WHERE "campaign" = '\${campaign}'`,
      ),
    )
    // the device's channels, shown as the id without its `M<device>_` prefix; "All" is the regex .+
    .withVariable(
      queryVariable(
        'channel',
        'Channel',
        influx,
        `SHOW TAG VALUES FROM "${MEASUREMENT}" WITH KEY = "channel_id" WHERE "campaign" = '\${campaign}' ` +
          `AND "device_master_sn" = '\${device}'`,
        { multi: true, all: true },
      )
        .allValue('.+')
        .regex('/^M[^_]+_(.+)$/'),
    )
    .withPanel(curvePanel('Power (W) per channel of the device', 'W', 'watt', influx, 0))
    .withPanel(curvePanel('Voltage (V) per channel of the device', 'V', 'volt', influx, 9))
    .withPanel(
      energyPanel('Energy per channel of the device over the period (kWh)', pg, perChannel, grid(0, 18, 12, 10)),
    )
    .withPanel(completenessPanel(pg, 18))
    .withPanel(
      energyPanel('Energy per device over the period (kWh)', pg, perDevice, grid(0, 28, 12, 10)).description(
        'Every device of the campaign: Σ energy_wh of its W channels whose hours start in the period.',
      ),
    )
    .withPanel(
      timeseries()
        .title('Samples per hour, per channel of the device')
        .description('Gaps and dips show missing data (PostgreSQL hourly aggregates).')
        .datasource(pg)
        .withTarget(new SqlBuilder(pg, samples, 'time_series'))
        .unit('short')
        .gridPos(grid(12, 28, 12, 10)),
    )
    .withRow(quality.row);
  for (const panel of quality.panels) builder.withPanel(panel);
  return finish(builder);
}

function energyPanel(title: string, pg: common.DataSourceRef, query: string, pos: ReturnType<typeof grid>) {
  return new BarGaugePanel()
    .title(title)
    .description(
      'Σ energy_wh of the hourly aggregates of the W channels whose hours start in the selected period ' +
        '(exactly-once: overlapping re-exports count once).',
    )
    .datasource(pg)
    .withTarget(new SqlBuilder(pg, query, 'table'))
    .unit('kwatth')
    .decimals(2)
    .orientation(VizOrientation.Horizontal)
    .displayMode(BarGaugeDisplayMode.Basic)
    .reduceOptions(new ReduceDataOptionsBuilder().values(true).calcs([]).fields('/^energy_kwh$/'))
    .gridPos(pos);
}
