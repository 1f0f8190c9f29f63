/**
 * The campaign dashboard's InfluxDB queries stay bounded whatever the campaign's size
 * (docs/grafana.md#bounded-queries): one device at a time, never "All" devices, field regexes anchored
 * on that device, and the query text Grafana sends the same for a campaign of 2 devices or of 200.
 * Campaign-wide figures come from PostgreSQL BI views.
 */
import t from 'tap';
import { campaignDashboard } from '../../src/grafana/dashboards/campaign.js';
import { overviewDashboard } from '../../src/grafana/dashboards/overview.js';
import { queryPanels, resolveVariables, targetQuery, type DashboardJson } from '../support/grafana-run.js';

const d = JSON.parse(JSON.stringify(campaignDashboard('acme', 'campaign-2025'))) as DashboardJson;
const variables = d.templating.list ?? [];
const influxVars = variables.filter((v) => v.datasource.type === 'influxdb');
const targets = queryPanels(d).flatMap((p) => (p.targets ?? []).map((target) => ({ panel: p.title, target })));
const influxTargets = targets.filter((x) => x.target.datasource.type === 'influxdb');

t.test('the device variable is one device: neither multi-valued nor "All"', async (t) => {
  const device = variables.find((v) => v.name === 'device') as { multi?: boolean; includeAll?: boolean } | undefined;
  t.ok(device, 'there is a device variable');
  t.equal(device?.multi, false);
  t.equal(device?.includeAll, false);
});

t.test('no InfluxDB variable expands "All" into its options', async (t) => {
  t.ok(influxVars.length >= 3);
  for (const v of influxVars) {
    if (!v.includeAll) continue;
    t.ok(v.allValue, `$${v.name}: "All" is a custom value, not every option`);
    t.match(v.query, /"device_master_sn" = '\$\{device\}'/, `$${v.name}: its options are one device's`);
  }
  for (const v of influxVars) t.notMatch(v.query, /"device_master_sn" =~/, `$${v.name}: no regex over devices`);
});

t.test('every InfluxQL panel query reads one device, its field regex anchored on it', async (t) => {
  t.ok(influxTargets.length >= 2, `${influxTargets.length} InfluxQL queries`);
  for (const { panel, target } of influxTargets) {
    const q = target.query ?? '';
    t.match(q, /WHERE [^]*"device_master_sn" = '\$\{device\}'/, `${panel}: one device`);
    t.notMatch(q, /device_master_sn"? =~/, `${panel}: no device regex`);
    for (const m of q.matchAll(/\(\/([^/]*)\/\)/g)) t.match(m[1], /^\^M\$\{device:regex\}_/, `${panel}: ${m[1]}`);
    t.notMatch(q, /\/\^?\.[*+]/, `${panel}: no field regex matching every field`);
  }
});

t.test('the InfluxQL Grafana sends is the same for 2 devices or 200', async (t) => {
  const range = { from: new Date('2025-01-01T00:00:00Z'), to: new Date('2025-01-08T00:00:00Z') };
  const sent = async (devices: number): Promise<string[]> => {
    const sns = Array.from({ length: devices }, (_, i) => String(3000000 + i).padStart(8, '0'));
    // each InfluxDB variable query answered as a campaign of `devices` six-channel devices would answer it
    const runner = async (q: string) => {
      const values = /KEY = "campaign"/.test(q)
        ? ['campaign-2025']
        : /KEY = "device_master_sn"/.test(q)
          ? sns
          : sns.flatMap((sn) => ['U1', 'U2', 'U3', 'Ch1', 'Ch2', 'Ch3'].map((l) => `M${sn}_${l}`));
      return { rows: values.length, values };
    };
    const pg = async () => ({ rows: 0, values: [] });
    const runners = new Map([
      [influxTargets[0].target.datasource.uid, runner],
      [targets.find((x) => x.target.datasource.type !== 'influxdb')!.target.datasource.uid, pg],
    ]);
    const { vars } = await resolveVariables(d, runners, range);
    return influxTargets.map(({ target }) => targetQuery(target, vars, range));
  };
  const small = await sent(2);
  const large = await sent(200);
  t.same(large, small, 'the same queries');
  for (const q of large) t.ok(q.length < 400, `${q.length} characters: ${q}`);
  t.match(large[0], /mean\(\/\^M03000000_\.\+_W\$\/\)/, 'All channels of the first device');
});

t.test('campaign-wide and quality figures come from the PostgreSQL bi views', async (t) => {
  const overview = JSON.parse(JSON.stringify(overviewDashboard('acme'))) as DashboardJson;
  const sqlTargets = [
    ...targets,
    ...queryPanels(overview).flatMap((p) => (p.targets ?? []).map((target) => ({ panel: p.title, target }))),
  ].filter((x) => x.target.rawSql !== undefined);
  t.ok(sqlTargets.length >= 8);
  for (const { panel, target } of sqlTargets) {
    t.match(target.rawSql, /FROM bi\.vw_metabase_\w+/, `${panel}: a bi view`);
    t.notMatch(target.rawSql, /\bcore\./, `${panel}: nothing of core`);
  }
  const titles = queryPanels(d).map((p) => p.title);
  for (const title of ['Findings per day, by kind', 'Findings of the period', 'Completeness per device and day (%)'])
    t.ok(titles.includes(title), title);
  t.ok(
    d.panels.some((p) => p.type === 'row' && p.title === 'Data quality'),
    'a "Data quality" row',
  );
  t.ok(
    queryPanels(overview).some((p) => p.title === 'Open findings'),
    'the overview lists open findings',
  );
});
