import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import { BarGaugeDisplayMode, GraphDrawStyle, ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { VizOrientation } from '@grafana/grafana-foundation-sdk/common';
import type * as common from '@grafana/grafana-foundation-sdk/common';
import type { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { SqlBuilder, sql } from '../queries.js';
import { grid, timeseries } from './common.js';

/**
 * The data-quality panels (docs/grafana.md#data-quality): findings and completeness, from the PostgreSQL
 * BI views of migration 012, so that their cost grows with the campaign's findings and device-days, never
 * with InfluxDB's series.
 */
export const QUALITY_VIEW = 'bi.vw_metabase_quality';
export const COMPLETENESS_VIEW = 'bi.vw_metabase_completeness';

// the local days (the tenant's zone, the view's time_zone) the dashboard's period touches
const LOCAL_DAYS = `day >= ($__timeFrom()::timestamptz AT TIME ZONE time_zone)::date
       AND day <= ($__timeTo()::timestamptz AT TIME ZONE time_zone)::date`;

/** Per device over the period's local days: Σ samples received / Σ samples expected. */
export function completenessPanel(pg: common.DataSourceRef, y: number): BarGaugePanel {
  const query = sql`
    SELECT device_master_sn AS device,
           100 * sum(samples_received)::float8 / NULLIF(sum(samples_expected), 0) AS completeness_pct
      FROM ${COMPLETENESS_VIEW}
     WHERE campaign IN ($campaign) AND ${LOCAL_DAYS}
     GROUP BY device_master_sn
     ORDER BY device_master_sn`;
  return new BarGaugePanel()
    .title('Data completeness per device (%)')
    .description(
      'Every device of the campaign over the local days of the period: samples received / samples expected at its ' +
        'sampling step from its first to its last sample (bi.vw_metabase_completeness).',
    )
    .datasource(pg)
    .withTarget(new SqlBuilder(pg, query, 'table'))
    .unit('percent')
    .decimals(1)
    .min(0)
    .max(100)
    .orientation(VizOrientation.Horizontal)
    .displayMode(BarGaugeDisplayMode.Gradient)
    .reduceOptions(new ReduceDataOptionsBuilder().values(true).calcs([]).fields('/^completeness_pct$/'))
    .gridPos(grid(12, y, 12, 10));
}

/** The "Data quality" row of the campaign dashboard and its panels, from `y` down (19 units high). */
export function qualityRow(
  pg: common.DataSourceRef,
  y: number,
): { row: RowBuilder; panels: Array<TimeseriesPanel | TablePanel> } {
  const perDay = sql`
    SELECT date_trunc('day', t_start) AS "time", kind AS metric, count(*) AS findings
      FROM ${QUALITY_VIEW}
     WHERE campaign IN ($campaign) AND $__timeFilter(t_start)
     GROUP BY 1, kind
     ORDER BY 1, kind`;
  const daily = sql`
    SELECT (day::timestamp AT TIME ZONE time_zone) AS "time", device_master_sn AS metric,
           100 * completeness AS completeness_pct
      FROM ${COMPLETENESS_VIEW}
     WHERE campaign IN ($campaign) AND ${LOCAL_DAYS}
     ORDER BY 1, device_master_sn`;
  const findings = sql`
    SELECT t_start AS "start", t_end AS "end", device_master_sn AS device, channel_id AS channel, kind, severity,
           measure, open, file_path AS file
      FROM ${QUALITY_VIEW}
     WHERE campaign IN ($campaign) AND t_start <= $__timeTo() AND t_end >= $__timeFrom()
     ORDER BY t_start, device_master_sn, kind
     LIMIT 1000`;
  const panels = [
    timeseries()
      .title('Findings per day, by kind')
      .description('Data-quality findings of the campaign whose range starts that UTC day (bi.vw_metabase_quality).')
      .datasource(pg)
      .withTarget(new SqlBuilder(pg, perDay, 'time_series'))
      .drawStyle(GraphDrawStyle.Bars)
      .fillOpacity(80)
      .unit('short')
      .gridPos(grid(0, y + 1, 12, 8)),
    timeseries()
      .title('Completeness per device and day (%)')
      .description(
        "Per device and local day in the tenant's zone: samples received / expected (first and last day: " +
          'their covered part only).',
      )
      .datasource(pg)
      .withTarget(new SqlBuilder(pg, daily, 'time_series'))
      .unit('percent')
      .min(0)
      .max(100)
      .gridPos(grid(12, y + 1, 12, 8)),
    new TablePanel()
      .title('Findings of the period')
      .description('The findings whose range meets the period, open or closed (the first 1,000).')
      .datasource(pg)
      .withTarget(new SqlBuilder(pg, findings, 'table'))
      .gridPos(grid(0, y + 9, 24, 10)),
  ];
  return { row: new RowBuilder('Data quality').collapsed(false).gridPos(grid(0, y, 24, 1)), panels };
}

/** The tenant overview's list of open findings, newest first. */
export function openFindingsPanel(pg: common.DataSourceRef, y: number): TablePanel {
  const query = sql`
    SELECT campaign, device_master_sn AS device, channel_id AS channel, kind, severity, t_start AS "start",
           t_end AS "end", measure, file_path AS file, detected_at AS detected
      FROM ${QUALITY_VIEW}
     WHERE open
     ORDER BY t_start DESC, campaign, device_master_sn
     LIMIT 500`;
  return new TablePanel()
    .title('Open findings')
    .description('Data-quality findings not closed yet (a gap no later file filled, …), whatever the period.')
    .datasource(pg)
    .withTarget(new SqlBuilder(pg, query, 'table'))
    .gridPos(grid(0, y, 24, 10));
}
