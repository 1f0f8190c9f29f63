/* eslint-disable @typescript-eslint/no-deprecated --
   the provisioned files are the v1 dashboard model Grafana file provisioning reads; dashboardv2 is another format */
import { DashboardBuilder, DashboardCursorSync } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { DataqueryBuilder as PromQuery } from '@grafana/grafana-foundation-sdk/prometheus';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { uids } from '../names.js';
import { prometheusRef } from '../queries.js';
import { finish, grid, timeseries, queryVariable } from './common.js';

/** `{instance=~"$instance"}`: every query is scoped to the instances picked in the variable. */
const SEL = 'instance=~"$instance"';

interface Series {
  expr: string;
  legend: string;
}

function promPanel(
  title: string,
  description: string,
  unit: string,
  series: Series[],
  pos: ReturnType<typeof grid>,
): TimeseriesPanel {
  const ds = prometheusRef(uids.prometheusDatasource);
  const panel = timeseries().title(title).description(description).datasource(ds).unit(unit).gridPos(pos);
  series.forEach((s, i) =>
    panel.withTarget(
      new PromQuery()
        .datasource(ds)
        .refId(String.fromCharCode(65 + i))
        .expr(s.expr)
        .legendFormat(s.legend)
        .range(),
    ),
  );
  return panel;
}

/** The ingester's own dashboard (docs/architecture.md#metrics metrics, prefix powerview_): one for every deployment. */
export function monitoringDashboard(): Dashboard {
  const ds = prometheusRef(uids.prometheusDatasource);
  const builder = new DashboardBuilder('PowerView ingester')
    .uid(uids.monitoringDashboard)
    .description(
      'Throughput, end-to-end latency, errors by cause, backlog, retries, duplicates skipped and last ingest per ' +
        'tenant (Prometheus, powerview_* metrics).',
    )
    .tags(['powerview', 'ingester'])
    .timezone('browser')
    .time({ from: 'now-6h', to: 'now' })
    .refresh('30s')
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly()
    .withVariable(
      queryVariable('instance', 'Instance', ds, 'label_values(powerview_files_total, instance)', {
        multi: true,
        all: true,
      }).allValue('.*'),
    )
    .withPanel(
      promPanel(
        'Points written per second',
        'Points acknowledged by InfluxDB, per tenant.',
        'short',
        [
          {
            expr: `sum by (tenant) (rate(powerview_points_written_total{${SEL}}[$__rate_interval]))`,
            legend: '{{tenant}}',
          },
        ],
        grid(0, 0, 12, 8),
      ),
    )
    .withPanel(
      promPanel(
        'Files per second',
        'Files finished, by outcome (ok, noop, error, unavailable).',
        'short',
        [{ expr: `sum by (outcome) (rate(powerview_files_total{${SEL}}[$__rate_interval]))`, legend: '{{outcome}}' }],
        grid(12, 0, 12, 8),
      ),
    )
    .withPanel(
      promPanel(
        'End-to-end latency',
        'Upload complete → committed in both stores (powerview_file_latency_seconds).',
        's',
        [
          {
            expr:
              `histogram_quantile(0.5, sum by (le) ` +
              `(rate(powerview_file_latency_seconds_bucket{${SEL}}[$__rate_interval])))`,
            legend: 'p50',
          },
          {
            expr:
              `histogram_quantile(0.95, sum by (le) ` +
              `(rate(powerview_file_latency_seconds_bucket{${SEL}}[$__rate_interval])))`,
            legend: 'p95',
          },
          {
            expr:
              `histogram_quantile(0.99, sum by (le) ` +
              `(rate(powerview_file_latency_seconds_bucket{${SEL}}[$__rate_interval])))`,
            legend: 'p99',
          },
        ],
        grid(0, 8, 12, 8),
      ),
    )
    .withPanel(
      promPanel(
        'Errors by cause',
        'Failed files per second, by error code (docs/errors.md).',
        'short',
        [{ expr: `sum by (code) (rate(powerview_file_errors_total{${SEL}}[$__rate_interval]))`, legend: '{{code}}' }],
        grid(12, 8, 12, 8),
      ),
    )
    .withPanel(
      promPanel(
        'Backlog',
        'Items waiting per queue (files, blocks, events) and line-protocol bytes in flight.',
        'short',
        [
          { expr: `sum by (queue) (powerview_queue_depth{${SEL}})`, legend: '{{queue}}' },
          { expr: `sum(powerview_bytes_in_flight{${SEL}})`, legend: 'bytes in flight' },
        ],
        grid(0, 16, 12, 8),
      ),
    )
    .withPanel(
      promPanel(
        'Retries',
        'Store requests retried per second, by store and cause.',
        'short',
        [
          {
            expr: `sum by (store, cause) (rate(powerview_retries_total{${SEL}}[$__rate_interval]))`,
            legend: '{{store}} {{cause}}',
          },
        ],
        grid(12, 16, 12, 8),
      ),
    )
    .withPanel(
      promPanel(
        'Duplicate rows skipped per second',
        'Rows an earlier file (or row) already brought: skipped in both stores (exactly-once).',
        'short',
        [
          {
            expr: `sum by (tenant) (rate(powerview_duplicate_rows_total{${SEL}}[$__rate_interval]))`,
            legend: '{{tenant}}',
          },
        ],
        grid(0, 24, 12, 8),
      ),
    )
    .withPanel(
      new TablePanel()
        .title('Last ingest per tenant')
        .description('Seconds since the last file of each tenant was ingested successfully.')
        .datasource(ds)
        .withTarget(
          new PromQuery()
            .datasource(ds)
            .refId('A')
            .expr(`time() - max by (tenant) (powerview_last_success_timestamp_seconds{${SEL}})`)
            .legendFormat('{{tenant}}')
            .instant(),
        )
        .unit('s')
        .gridPos(grid(12, 24, 12, 8)),
    );
  return finish(builder);
}
