/**
 * The report's connection: the server and database of DATABASE_URL with the tenant's own login and its
 * derived password (what Grafana's datasource uses), never DATABASE_URL's user, the password hidden.
 */
import t from 'tap';
import { resolvePgConfig } from '../../src/postgres/config.js';
import { tenantPassword } from '../../src/provision/secrets.js';
import { tenantPgConfig } from '../../src/report/connect.js';

t.test("the tenant's login on DATABASE_URL's server, the password derived and not enumerable", async (t) => {
  const base = resolvePgConfig({ databaseUrl: 'postgres://admin:hunter2@db.example:6543/pv?sslmode=require' }, {});
  const secret = 'a-tenant-secret-0123456789';
  const c = tenantPgConfig(base, 'Acme.Corp', secret);
  t.match(c, { host: 'db.example', port: 6543, database: 'pv', sslMode: 'require', user: 'pv_login_acme_corp' });
  t.equal(c.password, tenantPassword(secret, 'Acme.Corp', 'pg'), 'the derived password');
  t.not(c.password, 'hunter2', "never DATABASE_URL's password");
  t.notOk(JSON.stringify(c).includes(c.password!), 'the password does not show in JSON');
  t.ok(Object.isFrozen(c), 'frozen');
});
