/**
 * The Grafana provisioning tree as code — deterministic, committed static
 * files in step with the code, YAML in Grafana's documented format, stable
 * uids within Grafana's limits, no secret in any file.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { normalizeCatalog } from '../../src/grafana/catalog.js';
import { passwordEnvVar, stableUid, tenantLogin, tenantRole, uids } from '../../src/grafana/names.js';
import { buildTree, staticTree, tenantTree, writeTree } from '../../src/grafana/tree.js';
import { scramVerifier, tenantPassword } from '../../src/provision/secrets.js';
import { projectRoot } from '../support/helpers.js';

const catalog = normalizeCatalog([
  { tenant: 'zeta', timeZone: 'UTC', campaigns: ['b', 'a'] },
  { tenant: 'a.b', timeZone: 'Europe/Paris', campaigns: ['x'] },
  { tenant: 'a-b2', timeZone: 'Europe/Paris', campaigns: ['x.y', 'x-y', 'Campaign_2025-with-a-rather-long-name.v2'] },
  {
    tenant: 'Acme-Industries.with-a-very-long-company-name-that-goes-on.and-on',
    timeZone: 'Europe/Paris',
    campaigns: ['c1'],
  },
]);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

t.test('the same catalog gives the same bytes, in any input order', async (t) => {
  const a = buildTree(catalog);
  const shuffled = normalizeCatalog(
    [...catalog.tenants].reverse().map((x) => ({ ...x, campaigns: [...x.campaigns].reverse() })),
  );
  const b = buildTree(shuffled);
  t.same([...a.keys()], [...b.keys()]);
  for (const [k, v] of a) t.equal(b.get(k), v, k);
  t.same([...a.keys()], [...a.keys()].sort(), 'paths sorted');
  const text = [...a.values()].join('\n');
  t.notMatch(text, /20\d\d-\d\d-\d\dT\d\d:\d\d/, 'no time stamps');
});

t.test(
  'the committed static files are what the code builds (run `powerview grafana build --static-only` after a change)',
  async (t) => {
    for (const [rel, content] of staticTree()) {
      const file = join(projectRoot, 'grafana', rel);
      t.ok(existsSync(file), `${rel} is committed`);
      t.equal(existsSync(file) ? readFileSync(file, 'utf8') : '', content, `${rel} in step with src/grafana`);
    }
  },
);

t.test('uids: stable, at most 40 characters of [A-Za-z0-9_-], distinct for names that read alike', async (t) => {
  const all: string[] = [uids.prometheusDatasource, uids.monitoringFolder, uids.monitoringDashboard];
  for (const { tenant, campaigns } of catalog.tenants) {
    all.push(
      uids.influxDatasource(tenant),
      uids.pgDatasource(tenant),
      uids.tenantFolder(tenant),
      uids.overviewDashboard(tenant),
    );
    for (const c of campaigns) all.push(uids.campaignDashboard(tenant, c));
  }
  for (const u of all) t.match(u, /^[A-Za-z0-9_-]{1,40}$/, u);
  t.equal(new Set(all).size, all.length, 'all distinct');
  t.not(stableUid('pvf', 'a.b'), stableUid('pvf', 'a-b'));
  t.equal(uids.campaignDashboard('zeta', 'a'), uids.campaignDashboard('zeta', 'a'));
  t.equal(
    uids.campaignDashboard('zeta', 'a'),
    'pvc-zeta-a-' + uids.campaignDashboard('zeta', 'a').slice(-8),
    'readable prefix, hash suffix',
  );
});

t.test('role and login names follow core.tenant_role (63-byte limit)', async (t) => {
  t.equal(tenantRole('Acme.Paris-2'), 'pv_tenant_acme_paris_2');
  t.equal(tenantLogin('Acme.Paris-2'), 'pv_login_acme_paris_2');
  t.equal(passwordEnvVar('Acme.Paris-2', 'pg'), 'PV_LOGIN_ACME_PARIS_2_PG_PASSWORD');
  const long = 'x'.repeat(63);
  t.equal(tenantRole(long).length, 63);
  t.ok(tenantLogin(long).length <= 63);
});

const DS_KEYS = new Set([
  'name',
  'type',
  'access',
  'orgId',
  'uid',
  'url',
  'user',
  'database',
  'basicAuth',
  'basicAuthUser',
  'withCredentials',
  'isDefault',
  'jsonData',
  'secureJsonData',
  'version',
  'editable',
]);
const PROVIDER_KEYS = new Set([
  'name',
  'orgId',
  'folder',
  'folderUid',
  'type',
  'disableDeletion',
  'updateIntervalSeconds',
  'allowUiUpdates',
  'options',
]);
const ENV_REF = /^\$[A-Z_][A-Z0-9_]*$/;

/** Grafana's "Provision Grafana" page: data sources and dashboard providers, field by field. */
function checkDatasourcesFile(t: Test, rel: string, doc: Record<string, unknown>): void {
  t.same(
    Object.keys(doc).filter((k) => !['apiVersion', 'prune', 'datasources', 'deleteDatasources'].includes(k)),
    [],
    `${rel}: top-level keys`,
  );
  t.equal(doc.apiVersion, 1, `${rel}: apiVersion 1`);
  t.ok(Array.isArray(doc.datasources) && (doc.datasources as unknown[]).length > 0, `${rel}: datasources list`);
  for (const ds of doc.datasources as Array<Record<string, unknown>>) {
    const what = `${rel} ${String(ds.name)}`;
    t.same(
      Object.keys(ds).filter((k) => !DS_KEYS.has(k)),
      [],
      `${what}: only documented keys`,
    );
    t.type(ds.name, 'string', `${what}: name (required)`);
    t.ok(['influxdb', 'grafana-postgresql-datasource', 'prometheus'].includes(ds.type as string), `${what}: type`);
    t.ok(['proxy', 'direct'].includes(ds.access as string), `${what}: access`);
    t.match(ds.uid, /^[A-Za-z0-9_-]{1,40}$/, `${what}: uid`);
    t.equal(ds.orgId, 1);
    t.equal(ds.editable, false);
    t.type(ds.version, 'number');
    t.match(ds.url, ENV_REF, `${what}: url from the environment`);
    const secure = (ds.secureJsonData ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(secure))
      t.match(v, ENV_REF, `${what}: secureJsonData.${k} is an environment reference, never a value`);
    const json = ds.jsonData as Record<string, unknown>;
    if (ds.type === 'influxdb') {
      t.same(Object.keys(json).sort(), ['dbName', 'httpMode', 'version']);
      t.equal(json.version, 'InfluxQL');
      t.ok(['GET', 'POST'].includes(json.httpMode as string));
      t.type(ds.user, 'string');
      t.same(Object.keys(secure), ['password']);
    } else if (ds.type === 'grafana-postgresql-datasource') {
      t.same(Object.keys(json).sort(), [
        'connMaxLifetime',
        'database',
        'maxIdleConns',
        'maxOpenConns',
        'postgresVersion',
        'sslmode',
        'timescaledb',
      ]);
      t.match(json.database, ENV_REF);
      t.match(json.sslmode, ENV_REF);
      t.type(json.postgresVersion, 'number');
      t.same(Object.keys(secure), ['password']);
      t.match(ds.user, /^pv_login_/);
    } else {
      t.same(Object.keys(json).sort(), ['httpMethod', 'timeInterval']);
      t.match(json.timeInterval, /^\d+(ms|s|m|h)$/);
    }
  }
}

function checkProvidersFile(t: Test, rel: string, doc: Record<string, unknown>): void {
  t.same(Object.keys(doc).sort(), ['apiVersion', 'providers'], `${rel}: top-level keys`);
  t.equal(doc.apiVersion, 1);
  for (const p of doc.providers as Array<Record<string, unknown>>) {
    t.same(
      Object.keys(p).filter((k) => !PROVIDER_KEYS.has(k)),
      [],
      `${rel}: only documented keys`,
    );
    t.type(p.name, 'string', 'name (required)');
    t.equal(p.type, 'file');
    t.match(p.folderUid, /^[A-Za-z0-9_-]{1,40}$/);
    t.type(p.folder, 'string');
    const options = p.options as Record<string, unknown>;
    t.match(options.path, /^\//, 'options.path (required for file): absolute');
    t.equal(
      options.foldersFromFilesStructure,
      false,
      'folder/folderUid and foldersFromFilesStructure exclude each other',
    );
  }
}

t.test(
  "provisioning YAML follows Grafana's documented format; dashboards refer to provisioned datasources only",
  async (t) => {
    const tree = buildTree(catalog);
    const datasourceUids = new Set<string>();
    const folders = new Map<string, string>();
    for (const [rel, content] of tree) {
      if (!rel.endsWith('.yaml')) continue;
      t.match(content, /^# Generated by/, `${rel}: marked generated`);
      const doc = parse(content) as Record<string, unknown>;
      if (rel.startsWith('provisioning/datasources/')) {
        checkDatasourcesFile(t, rel, doc);
        for (const ds of doc.datasources as Array<{ uid: string }>) datasourceUids.add(ds.uid);
      } else {
        t.match(rel, /^provisioning\/dashboards\//);
        checkProvidersFile(t, rel, doc);
        for (const p of doc.providers as Array<{ folderUid: string; options: { path: string } }>)
          folders.set(p.folderUid, p.options.path);
      }
    }
    t.equal(new Set(folders.values()).size, folders.size, 'one folder path per provider');
    for (const { tenant } of catalog.tenants)
      t.equal(folders.get(uids.tenantFolder(tenant)), `/var/lib/grafana/dashboards/powerview/tenants/${tenant}`);
    let panels = 0;
    for (const [rel, content] of tree) {
      if (!rel.endsWith('.json')) continue;
      const d = JSON.parse(content) as {
        uid: string;
        id: null;
        schemaVersion: number;
        panels: Array<{ type: string; datasource: { uid: string }; targets: Array<{ datasource: { uid: string } }> }>;
        templating: { list: Array<{ datasource: { uid: string } }> };
      };
      t.equal(d.id, null, `${rel}: no numeric id`);
      t.type(d.schemaVersion, 'number');
      for (const p of d.panels) {
        if (p.type === 'row') continue; // a row has no query
        panels++;
        t.ok(datasourceUids.has(p.datasource.uid), `${rel}: panel datasource provisioned`);
        for (const target of p.targets)
          t.ok(datasourceUids.has(target.datasource.uid), `${rel}: target datasource provisioned`);
      }
      for (const v of d.templating.list ?? [])
        t.ok(datasourceUids.has(v.datasource.uid), `${rel}: variable datasource provisioned`);
    }
    t.ok(panels > 20, `${panels} panels`);
  },
);

t.test('no secret in the tree: only references to the environment', async (t) => {
  const secret = 'a-secret-of-at-least-16-chars';
  const text = [...buildTree(catalog).values()].join('\n');
  for (const { tenant } of catalog.tenants) {
    t.notOk(text.includes(tenantPassword(secret, tenant, 'pg')));
    t.ok(text.includes(`$${passwordEnvVar(tenant, 'pg')}`) && text.includes(`$${passwordEnvVar(tenant, 'influx')}`));
  }
  t.notMatch(text, /password:\s*[^$\s]/i, 'every password field is a $VAR');
});

t.test('derived passwords and SCRAM verifiers', async (t) => {
  const p = tenantPassword('s'.repeat(20), 'acme', 'pg');
  t.match(p, /^[A-Za-z0-9_-]{43}$/);
  t.equal(p, tenantPassword('s'.repeat(20), 'acme', 'pg'), 'deterministic');
  t.not(p, tenantPassword('s'.repeat(20), 'acme', 'influx'), 'one per store');
  t.not(p, tenantPassword('s'.repeat(20), 'acme2', 'pg'), 'one per tenant');
  // the format core.ensure_tenant_login() accepts (PostgreSQL accepting the login is tested in grafana-queries)
  const v = scramVerifier(p, Buffer.alloc(16, 7));
  t.match(v, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
  t.equal(v, scramVerifier(p, Buffer.alloc(16, 7)), 'same salt, same verifier');
  t.not(scramVerifier(p), scramVerifier(p), 'a random salt by default');
  t.notOk(v.includes(p), 'the password is not in it');
});

t.test('writeTree: unchanged files are left alone, stale generated files removed, per tenant scope', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'pv-grafana-'));
  const first = await writeTree(out, buildTree(catalog));
  t.equal(first.written.length, buildTree(catalog).size);
  const again = await writeTree(out, buildTree(catalog));
  t.same(again.written, []);
  t.equal(again.unchanged.length, first.written.length);
  writeFileSync(join(out, 'dashboards/tenants/zeta/notes.txt'), 'kept: not ours');
  const smaller = normalizeCatalog(
    catalog.tenants
      .filter((x) => x.tenant !== 'a.b')
      .map((x) => (x.tenant === 'zeta' ? { ...x, campaigns: ['a'] } : x)),
  );
  const pruned = await writeTree(out, buildTree(smaller));
  t.same(
    pruned.removed.sort(),
    [
      'dashboards/tenants/a.b/overview.json',
      'dashboards/tenants/a.b/campaign-x.json',
      'dashboards/tenants/zeta/campaign-b.json',
      'provisioning/datasources/tenant-a.b.yaml',
      'provisioning/dashboards/tenant-a.b.yaml',
    ].sort(),
  );
  t.ok(existsSync(join(out, 'dashboards/tenants/zeta/notes.txt')));
  // one tenant's provisioning touches that tenant's files only
  const zeta = smaller.tenants.find((x) => x.tenant === 'zeta')!;
  const one = await writeTree(out, tenantTree({ ...zeta, campaigns: ['a', 'c'] }), { tenant: 'zeta' });
  t.same(one.written, ['dashboards/tenants/zeta/campaign-c.json']);
  const files = walk(out)
    .map((f) => relative(out, f))
    .sort();
  t.same(
    files,
    [
      ...new Set([
        ...buildTree(smaller).keys(),
        'dashboards/tenants/zeta/campaign-c.json',
        'dashboards/tenants/zeta/notes.txt',
      ]),
    ].sort(),
  );
});
