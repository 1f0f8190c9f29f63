/* eslint-disable @typescript-eslint/no-deprecated --
   the provisioned files are the v1 dashboard model Grafana file provisioning reads; dashboardv2 is another format */
import {
  DashboardBuilder,
  DashboardLinkBuilder,
  DashboardLinkType,
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type * as common from '@grafana/grafana-foundation-sdk/common';
import {
  LegendDisplayMode,
  LegendPlacement,
  SortOrder,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';

/** A panel position: 24 columns wide, rows of `h` units. */
export function grid(x: number, y: number, w: number, h: number): { x: number; y: number; w: number; h: number } {
  return { x, y, w, h };
}

/** A query variable refreshed when the dashboard loads; `all` adds "All" (every option, no custom regex). */
export function queryVariable(
  name: string,
  label: string,
  datasource: common.DataSourceRef,
  query: string,
  options: { multi?: boolean; all?: boolean; current?: string } = {},
): QueryVariableBuilder {
  const v = new QueryVariableBuilder(name)
    .label(label)
    .datasource(datasource)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnDashboardLoad)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(options.multi ?? false)
    .includeAll(options.all ?? false);
  if (options.current !== undefined) v.current({ selected: true, text: options.current, value: options.current });
  else if (options.all) v.current({ selected: true, text: 'All', value: '$__all' });
  return v;
}

/** Links to the dashboards carrying `tag` (a tenant's dashboards link to one another). */
export function tagLink(title: string, tag: string): DashboardLinkBuilder {
  return new DashboardLinkBuilder(title)
    .type(DashboardLinkType.Dashboards)
    .tags([tag])
    .asDropdown(true)
    .includeVars(false)
    .keepTime(true);
}

/** Every dashboard the tree holds: the SDK's output, with the fields that would vary (id) pinned. */
export function finish(builder: DashboardBuilder): Dashboard {
  const d = builder.build();
  return { ...d, id: null };
}

export const tenantTag = (tenant: string): string => `powerview-tenant:${tenant}`;

/** Time series panels show a legend (the SDK hides it by default) and every series in the tooltip. */
export function timeseries(): TimeseriesPanel {
  return new TimeseriesPanel()
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.List)
        .placement(LegendPlacement.Bottom),
    )
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending));
}
