/** Grafana users of a tenant against the in-process Grafana (documented Admin, User, Org and Team API replies). */
import t from 'tap';
import { applyGrafana, resolveGrafanaApi } from '../../src/grafana/apply.js';
import { normalizeCatalog } from '../../src/grafana/catalog.js';
import { addTenantUser, userAdminApi } from '../../src/grafana/users.js';
import { UsageError } from '../../src/errors.js';
import { fakeGrafana } from '../support/fake-grafana.js';

const catalog = normalizeCatalog([{ tenant: 'acme', timeZone: 'UTC', campaigns: [] }]);

t.test('a user is created once, a Viewer in its team, its password given once', async (t) => {
  const g = await fakeGrafana();
  t.teardown(g.close);
  const env = { GRAFANA_TOKEN: g.token, GRAFANA_USER: g.admin.user, GRAFANA_PASSWORD: g.admin.password };
  const config = resolveGrafanaApi({ grafanaUrl: g.url }, env);
  await applyGrafana(catalog, config);
  const api = userAdminApi(config);
  const first = await addTenantUser(api, 'acme', 'bob', { email: 'bob@acme.test' });
  t.ok(first.created);
  t.type(first.password, 'string');
  t.ok((first.password ?? '').length >= 20, 'a long generated password');
  t.equal(first.member, 'added');
  const bob = g.users.find((u) => u.login === 'bob')!;
  t.equal(bob.password, first.password, 'the password printed is the one Grafana got');
  t.equal(bob.role, 'Viewer');
  t.equal(bob.email, 'bob@acme.test');
  const team = g.teams.find((x) => x.name === first.team)!;
  t.ok(g.members.get(team.id)?.has(bob.id), 'a member of the tenant team');
  const again = await addTenantUser(api, 'acme', 'bob');
  t.same([again.created, again.password, again.member], [false, null, 'present'], 'found: password never shown again');
  t.equal(g.users.length, 1);
});

t.test('apply --default-users: user_<tenant> per tenant, idempotent', async (t) => {
  const g = await fakeGrafana();
  t.teardown(g.close);
  const config = resolveGrafanaApi(
    { grafanaUrl: g.url },
    { GRAFANA_USER: g.admin.user, GRAFANA_PASSWORD: g.admin.password },
  );
  const first = await applyGrafana(catalog, config, { defaultUsers: true });
  t.equal(first.tenants[0].user?.login, 'user_acme');
  t.ok(first.tenants[0].user?.created);
  const second = await applyGrafana(catalog, config, { defaultUsers: true });
  t.equal(second.tenants[0].user?.created, false);
  t.equal(second.changes, 0, 'nothing changed the second time');
});

t.test('a token alone cannot create users, and a tenant without a team is refused', async (t) => {
  const g = await fakeGrafana();
  t.teardown(g.close);
  const tokenOnly = resolveGrafanaApi({ grafanaUrl: g.url }, { GRAFANA_TOKEN: g.token });
  t.throws(() => userAdminApi(tokenOnly), UsageError);
  const api = userAdminApi(
    resolveGrafanaApi({ grafanaUrl: g.url }, { GRAFANA_USER: g.admin.user, GRAFANA_PASSWORD: g.admin.password }),
  );
  await t.rejects(addTenantUser(api, 'acme', 'bob'), /grafana apply/, 'no team yet: run grafana apply first');
  t.equal(g.users.length, 0, 'no user created without its team');
});
