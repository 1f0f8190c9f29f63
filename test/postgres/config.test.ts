/**
 * PostgreSQL configuration, error mapping, migration files and dataset
 * rendering: the parts that need no server.
 */
import t from 'tap';
import { mkdtempSync, writeFileSync, cpSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ErrorCodes, UsageError } from '../../src/errors.js';
import { describePg, resolvePgConfig } from '../../src/postgres/config.js';
import { sslOf } from '../../src/postgres/db.js';
import { DatabaseError, MigrationError, toDatabaseError } from '../../src/postgres/errors.js';
import { defaultMigrationsDir, lineOf, loadMigrations } from '../../src/postgres/migrations.js';
import { renderDatasetDocs, type Dataset } from '../../src/postgres/datasets.js';

t.test('resolvePgConfig: DATABASE_URL', async (t) => {
  const c = resolvePgConfig(
    {},
    { DATABASE_URL: 'postgres://ingest:p%40ss%3Aw@db.example:6543/power_view?sslmode=require' },
  );
  t.same(
    { ...c },
    {
      host: 'db.example',
      port: 6543,
      user: 'ingest',
      database: 'power_view',
      sslMode: 'require',
      source: 'DATABASE_URL',
    },
  );
  t.equal(c.password, 'p@ss:w', 'percent-decoded');
  t.ok(Object.isFrozen(c));
  t.notMatch(JSON.stringify(c), /p@ss/, 'JSON never shows the password');
  t.notMatch(inspect(c), /p@ss/, 'nor does util.inspect (pino, console.log)');
  t.equal(describePg(c), 'postgres://ingest@db.example:6543/power_view');
  t.same(sslOf(c), { rejectUnauthorized: false });

  const flag = resolvePgConfig(
    { databaseUrl: 'postgresql://a@h/d' },
    { DATABASE_URL: 'postgres://b@x/y', PGHOST: 'z' },
  );
  t.equal(flag.source, '--database-url');
  t.same([flag.user, flag.host, flag.port, flag.database, flag.password], ['a', 'h', 5432, 'd', undefined]);

  const socket = resolvePgConfig({}, { DATABASE_URL: 'postgres:///pv?host=/var/run/postgresql' });
  t.equal(socket.host, '/var/run/postgresql');
  t.equal(describePg(socket).includes('[socket /var/run/postgresql]'), true);
  const v6 = resolvePgConfig({}, { DATABASE_URL: 'postgres://u@[::1]:5433/d' });
  t.equal(v6.host, '::1');
});

t.test('resolvePgConfig: the PG* variables, with libpq defaults', async (t) => {
  const c = resolvePgConfig({}, { PGHOST: 'pg1', PGUSER: 'me', PGPASSWORD: 'secret', PGSSLMODE: 'verify-full' });
  t.same({ ...c }, { host: 'pg1', port: 5432, user: 'me', database: 'me', sslMode: 'verify-full', source: 'PG*' });
  t.equal(c.password, 'secret');
  t.same(sslOf(c), { rejectUnauthorized: true });
  const d = resolvePgConfig({}, { PGDATABASE: 'pv', PGPORT: '15432' });
  t.same([d.host, d.port, d.database], ['localhost', 15432, 'pv']);
  t.equal(sslOf(d), false, 'prefer: no TLS with node-postgres');
});

t.test('resolvePgConfig: errors name the setting, never the password', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{}, /no PostgreSQL configured/],
    [{ DATABASE_URL: 'not a url with secret-pw' }, /DATABASE_URL must be a URL like postgres:/],
    [{ DATABASE_URL: 'mysql://u:secret-pw@h/d' }, /the scheme is "mysql"/],
    [{ DATABASE_URL: 'postgres://u:secret-pw@h:99999/d' }, /not a valid URL|port/],
    [
      { DATABASE_URL: 'postgres://u:secret-pw@h/d?sslmode=sometimes' },
      /sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full/,
    ],
    [{ PGHOST: 'h', PGPORT: '54x', PGPASSWORD: 'secret-pw' }, /PGPORT must be a port number/],
    [{ PGHOST: 'h', PGSSLMODE: 'on' }, /PGSSLMODE must be one of/],
    [{ DATABASE_URL: 'postgres://u:%zz@h/d' }, /password is not valid percent-encoding/],
  ];
  for (const [env, re] of cases) {
    const err = (() => {
      try {
        resolvePgConfig({}, env);
        return null;
      } catch (e) {
        return e as UsageError;
      }
    })();
    t.ok(err instanceof UsageError, JSON.stringify(env));
    t.equal(err?.code, ErrorCodes.CONFIG);
    t.match(err?.message, re);
    t.notMatch(err?.message, /secret-pw/);
  }
});

t.test('toDatabaseError: stable codes, SQLSTATE kept', async (t) => {
  const table: Array<[unknown, string, string | undefined]> = [
    [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      ErrorCodes.DATABASE_UNAVAILABLE,
      undefined,
    ],
    [new Error('Connection terminated due to connection timeout'), ErrorCodes.DATABASE_UNAVAILABLE, undefined],
    [
      Object.assign(new Error('password authentication failed for user "x"'), { code: '28P01' }),
      ErrorCodes.DATABASE_AUTH,
      '28P01',
    ],
    [Object.assign(new Error('database "nope" does not exist'), { code: '3D000' }), ErrorCodes.DATABASE_AUTH, '3D000'],
    [
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      ErrorCodes.DATABASE_UNAVAILABLE,
      '57P03',
    ],
    [
      Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
      ErrorCodes.DATABASE_UNAVAILABLE,
      '53300',
    ],
    [Object.assign(new Error('permission denied for table hourly'), { code: '42501' }), ErrorCodes.DATABASE, '42501'],
  ];
  for (const [err, code, state] of table) {
    const e = toDatabaseError(err, 'test');
    t.ok(e instanceof DatabaseError);
    t.equal(e.code, code, (err as Error).message);
    t.equal(e.sqlState, state);
    t.match(e.message, /^test: /);
  }
  const m = new MigrationError(ErrorCodes.MIGRATION_FAILED, 'x', { file: '002_core.sql', line: 7, sqlState: '42P07' });
  t.same(
    [m.name, m.code, m.file, m.line, m.sqlState],
    ['MigrationError', 'PV_ERR_MIGRATION_FAILED', '002_core.sql', 7, '42P07'],
  );
  t.ok(m instanceof DatabaseError);
});

t.test('migration files: names, order, run-as, checksums', async (t) => {
  const all = await loadMigrations();
  t.same(
    all.map((m) => m.version),
    all.map((_, i) => i + 1),
    'versions 1, 2, 3, … without gaps',
  );
  t.same(
    all.map((m) => m.runAs),
    all.map((m) => (m.file === '001_roles.sql' ? 'session' : 'owner')),
  );
  for (const m of all) {
    t.match(m.checksum, /^[0-9a-f]{64}$/);
    t.notMatch(
      m.sql,
      /^\s*(BEGIN|COMMIT|ROLLBACK)\s*;/im,
      `${m.file}: no transaction control (the runner owns the transaction)`,
    );
  }

  const dir = mkdtempSync(join(tmpdir(), 'pv-mig-unit-'));
  cpSync(defaultMigrationsDir(), dir, { recursive: true });
  const crlf = readFileSync(join(dir, '002_core.sql'), 'utf8').replace(/\n/g, '\r\n');
  writeFileSync(join(dir, '002_core.sql'), crlf);
  t.equal(
    (await loadMigrations(dir)).find((m) => m.version === 2)!.checksum,
    all.find((m) => m.version === 2)!.checksum,
    'CRLF checkouts: same checksum',
  );

  writeFileSync(join(dir, '002_again.sql'), 'SELECT 1;');
  await t.rejects(loadMigrations(dir), { code: ErrorCodes.MIGRATION_FAILED, message: /same version 2/ });
  const bad = mkdtempSync(join(tmpdir(), 'pv-mig-bad-'));
  writeFileSync(join(bad, '7-Roles.sql'), 'SELECT 1;');
  await t.rejects(loadMigrations(bad), { code: ErrorCodes.MIGRATION_FAILED, file: '7-Roles.sql' });
  await t.rejects(loadMigrations(join(bad, 'missing')), { code: ErrorCodes.MIGRATION_FAILED });
  t.equal(lineOf('a\nb\nc', 1), 1);
  t.equal(lineOf('a\nb\nc', 5), 3);
});

t.test('renderDatasetDocs: escapes table cells, sorts, same input same bytes', async (t) => {
  const d = (name: string): Dataset => ({
    name,
    schema_name: 'bi',
    description: `about ${name}`,
    columns: [{ name: 'a', type: 'text', unit: null, description: 'with | a pipe\nand a newline' }],
    grain: 'g',
    time_zone: 'UTC',
    refresh: 'live',
    owner_role: 'bi_owner',
    reader_roles: ['r1', 'r2'],
  });
  const docs = renderDatasetDocs([d('vw_b'), d('vw_a')]);
  t.same([...docs.keys()], ['bi.vw_a.md', 'bi.vw_b.md', 'README.md']);
  t.match(docs.get('bi.vw_a.md'), /\| `a` \| text \| {2}\| with \\\| a pipe and a newline \|/);
  t.match(docs.get('README.md'), /\[`bi.vw_a`\]\(bi.vw_a.md\)[^\n]*\n[^\n]*\[`bi.vw_b`\]/);
  t.same(renderDatasetDocs([d('vw_a'), d('vw_b')]), docs);
});
