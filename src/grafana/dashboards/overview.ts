/* eslint-disable @typescript-eslint/no-deprecated --
   the provisioned files are the v1 dashboard model Grafana file provisioning reads; dashboardv2 is another format */
import { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { GraphDrawStyle, ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { uids } from '../names.js';
import { SqlBuilder, postgresRef, sql } from '../queries.js';
import { HOURLY_VIEW } from './campaign.js';
import { finish, grid, timeseries, tagLink, tenantTag } from './common.js';
import { openFindingsPanel } from './quality.js';

export const DAILY_VIEW = 'bi.vw_metabase_energy_daily';

/** Per tenant: its campaigns at a glance, its energy per local day and its open findings (PostgreSQL). */
export function overviewDashboard(tenant: string): Dashboard {
  const pg = postgresRef(uids.pgDatasource(tenant));
  const campaigns = sql`
    SELECT campaign, count(DISTINCT device_master_sn) AS devices, count(DISTINCT channel_id) AS channels,
           min(first_time) AS first_sample, max(last_time) AS last_sample,
           sum(samples) AS samples, sum(energy_wh) / 1000 AS energy_kwh
      FROM ${HOURLY_VIEW}
     WHERE $__timeFilter(hour)
     GROUP BY campaign
     ORDER BY campaign`;
  // days in the tenant's zone (core.tenants.time_zone): the period's bounds are turned into local dates
  const daily = sql`
    SELECT (day::timestamp AT TIME ZONE time_zone) AS "time", campaign AS metric, sum(energy_kwh) AS energy_kwh
      FROM ${DAILY_VIEW}
     WHERE day >= ($__timeFrom()::timestamptz AT TIME ZONE time_zone)::date
       AND day <= ($__timeTo()::timestamptz AT TIME ZONE time_zone)::date
     GROUP BY 1, campaign
     ORDER BY 1, campaign`;
  const devices = sql`
    SELECT count(DISTINCT device_master_sn) AS devices
      FROM ${HOURLY_VIEW}
     WHERE $__timeFilter(hour)`;
  const energy = sql`
    SELECT sum(energy_wh) / 1000 AS energy_kwh
      FROM ${HOURLY_VIEW}
     WHERE channel_unit = 'W' AND $__timeFilter(hour)`;

  const builder = new DashboardBuilder(`${tenant} / Overview`)
    .uid(uids.overviewDashboard(tenant))
    .description(
      `Every campaign of ${tenant}: devices, channels, data span and energy, from the PostgreSQL hourly aggregates.`,
    )
    .tags(['powerview', 'overview', tenantTag(tenant)])
    .timezone('browser')
    .time({ from: 'now-30d', to: 'now' })
    .readonly()
    .link(tagLink(`${tenant} dashboards`, tenantTag(tenant)))
    .withPanel(
      new StatPanel()
        .title('Devices with data')
        .datasource(pg)
        .withTarget(new SqlBuilder(pg, devices, 'table'))
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('/^devices$/'))
        .gridPos(grid(0, 0, 6, 5)),
    )
    .withPanel(
      new StatPanel()
        .title('Energy over the period')
        .datasource(pg)
        .withTarget(new SqlBuilder(pg, energy, 'table'))
        .unit('kwatth')
        .decimals(1)
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('/^energy_kwh$/'))
        .gridPos(grid(6, 0, 6, 5)),
    )
    .withPanel(
      new TablePanel()
        .title('Campaigns')
        .description(
          'Per campaign over the period: devices, channels, first and last sample, samples and energy (W channels).',
        )
        .datasource(pg)
        .withTarget(new SqlBuilder(pg, campaigns, 'table'))
        .gridPos(grid(0, 5, 24, 8)),
    )
    .withPanel(
      timeseries()
        .title('Energy per day (kWh)')
        .description("Per campaign and local day in the tenant's time zone (an hour counts for the day it starts in).")
        .datasource(pg)
        .withTarget(new SqlBuilder(pg, daily, 'time_series'))
        .drawStyle(GraphDrawStyle.Bars)
        .fillOpacity(80)
        .unit('kwatth')
        .gridPos(grid(0, 13, 24, 9)),
    )
    .withPanel(openFindingsPanel(pg, 22));
  return finish(builder);
}
