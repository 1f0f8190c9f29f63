/**
 * `powerview grafana apply` against an in-process server that reproduces the
 * documented requests and replies of Grafana's Team API, Folder API and
 * Folder Permissions API (docs/sources/developers/http_api/{team,folder,
 * folder_permissions}.md): a team per tenant, View on its folder and nothing
 * else there, idempotent.
 */
import t from 'tap';
import { applyGrafana, resolveGrafanaApi } from '../../src/grafana/apply.js';
import { normalizeCatalog } from '../../src/grafana/catalog.js';
import { uids } from '../../src/grafana/names.js';
import { StoreError } from '../../src/errors.js';
import { fakeGrafana } from '../support/fake-grafana.js';

const catalog = normalizeCatalog([
  { tenant: 'acme', timeZone: 'Europe/Paris', campaigns: ['c1'] },
  { tenant: 'beta.corp', timeZone: 'UTC', campaigns: [] },
]);

t.test('a team per tenant, View on its folder and nothing else; the second run changes nothing', async (t) => {
  const g = await fakeGrafana();
  t.teardown(g.close);
  // Grafana already read the tree: the folder of acme exists with the default permissions
  g.createFolder(uids.tenantFolder('acme'), 'acme');
  const config = resolveGrafanaApi({ grafanaUrl: g.url }, { GRAFANA_TOKEN: g.token });
  const first = await applyGrafana(catalog, config);
  t.same(
    first.tenants.map((x) => [x.tenant, x.team.name, x.team.created, x.folder.created, x.permissions]),
    [
      ['acme', 'PowerView acme', true, false, 'set'],
      ['beta.corp', 'PowerView beta.corp', true, true, 'set'],
    ],
  );
  for (const x of first.tenants)
    t.same(
      g.permissions.get(x.folder.uid),
      [{ teamId: x.team.id, permission: 1 }],
      `${x.tenant}: its team views, no role does`,
    );
  t.same(
    g.permissions.get(uids.monitoringFolder),
    [{ role: 'Editor', permission: 1 }],
    'the ingester folder: Editors (and Admins) only',
  );
  t.ok(first.changes > 0);

  const before = g.requests.length;
  const second = await applyGrafana(catalog, config);
  t.equal(second.changes, 0, 'idempotent: no mutating request');
  t.same(
    g.requests.slice(before).filter((r) => !r.startsWith('GET')),
    [],
  );
  t.same(
    second.tenants.map((x) => [x.team.created, x.folder.created, x.permissions]),
    [
      [false, false, 'unchanged'],
      [false, false, 'unchanged'],
    ],
  );
  t.equal(g.teams.length, 2);

  // someone widened a folder by hand: the next run narrows it again
  g.permissions.get(uids.tenantFolder('acme'))!.push({ role: 'Viewer', permission: 1 });
  const third = await applyGrafana(catalog, config);
  t.equal(third.tenants[0].permissions, 'set');
  t.equal(third.changes, 1);
});

t.test('name search answering 404, a team created meanwhile (409)', async (t) => {
  const g = await fakeGrafana({ searchByName404: true });
  t.teardown(g.close);
  const config = resolveGrafanaApi({ grafanaUrl: g.url }, { GRAFANA_TOKEN: g.token });
  const r = await applyGrafana(normalizeCatalog([catalog.tenants[0]]), config);
  t.equal(r.tenants[0].team.created, true);
  t.equal((await applyGrafana(normalizeCatalog([catalog.tenants[0]]), config)).changes, 0);
});

t.test('refused credentials and bad configuration', async (t) => {
  const g = await fakeGrafana();
  t.teardown(g.close);
  const err = await applyGrafana(catalog, resolveGrafanaApi({ grafanaUrl: g.url }, { GRAFANA_TOKEN: 'wrong' })).catch(
    (e: unknown) => e,
  );
  t.ok(err instanceof StoreError);
  t.equal((err as StoreError).code, 'PV_ERR_GRAFANA_API');
  t.equal((err as StoreError).status, 401);
  t.notMatch((err as Error).message, /wrong/, 'the token is not in the message');
  t.throws(() => resolveGrafanaApi({}, {}), { code: 'PV_ERR_CONFIG' });
  t.throws(() => resolveGrafanaApi({ grafanaUrl: 'ftp://x' }, { GRAFANA_TOKEN: 'x' }), { code: 'PV_ERR_CONFIG' });
  t.throws(
    () => resolveGrafanaApi({ grafanaUrl: g.url }, { GRAFANA_USER: 'admin' }),
    { code: 'PV_ERR_CONFIG' },
    'a user without a password',
  );
  const down = await applyGrafana(
    catalog,
    resolveGrafanaApi({ grafanaUrl: 'http://127.0.0.1:1' }, { GRAFANA_TOKEN: 'x' }),
  ).catch((e: unknown) => e);
  t.equal((down as StoreError).code, 'PV_ERR_GRAFANA_API');
  t.equal((down as StoreError).status, 0, 'no reply');
});
