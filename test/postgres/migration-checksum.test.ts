/**
 * Migration checksums ignore comments and meaningless whitespace, never SQL:
 * the normalisation, table-driven, and the whole-text checksums of older
 * releases still accepted for the migrations whose comments were edited.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileChecksum, normalizeSql, sqlChecksum } from '../../src/postgres/migration-checksum.js';
import { defaultMigrationsDir, loadMigrations, parseMigrationFileName } from '../../src/postgres/migrations.js';

t.test('comments and blanks outside literals are dropped', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['line comment', 'SELECT 1; -- one\nSELECT 2;', 'SELECT 1;\nSELECT 2;'],
    ['whole-line comments and blank lines', '-- head\n\nSELECT 1;\n\n-- tail\n', 'SELECT 1;'],
    ['block comment between tokens separates them', 'SELECT a/* x */FROM t', 'SELECT a FROM t'],
    ['nested block comment', 'SELECT /* a /* b */ c */ 1', 'SELECT 1'],
    ['multi-line block comment', 'SELECT 1;\n/* one\n   two */\nSELECT 2;', 'SELECT 1;\nSELECT 2;'],
    ['trailing and leading blanks', '  CREATE TABLE x (a int);  \t\n', 'CREATE TABLE x (a int);'],
    ['blank runs collapse', 'SELECT\t 1,   2', 'SELECT 1, 2'],
    ['CRLF', 'SELECT 1;\r\nSELECT 2;\r\n', 'SELECT 1;\nSELECT 2;'],
  ];
  for (const [name, sql, want] of cases) t.equal(normalizeSql(sql), want, name);
});

t.test('literals, quoted identifiers and dollar quotes are kept byte for byte', async (t) => {
  const cases: Array<[string, string]> = [
    ['-- in a string', "SELECT '-- not a comment', 'a  b'"],
    ['/* in a string */', "SELECT '/* kept */'"],
    ["'' inside a string", "SELECT 'it''s -- kept'"],
    ["E-string with \\'", "SELECT E'a\\' -- kept'"],
    ['quoted identifier', 'SELECT 1 AS "x -- y"'],
    ['dollar-quoted body', 'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 -- kept\n  ,  2 $$'],
    ['tagged dollar quote', 'DO $body$ BEGIN -- kept $$ inside\n END $body$'],
    ['string over lines', "COMMENT ON TABLE t IS 'one\n\n  two  '"],
  ];
  for (const [name, sql] of cases) t.equal(normalizeSql(sql), sql, name);
  t.equal(normalizeSql('SELECT $1::int  -- p'), 'SELECT $1::int', 'a parameter is no dollar quote');
});

t.test('a comment edit keeps the checksum, a statement edit changes it', async (t) => {
  const base = 'CREATE TABLE core.x (\n  a int -- the a\n);\n';
  const same = [
    '-- a new header\nCREATE TABLE core.x (\n  a int -- the a, reworded\n);\n',
    'CREATE TABLE core.x (\n  a int\n);\n\n/* appended */\n',
    'CREATE TABLE core.x (\n  a int -- the a\n);   \n',
  ];
  for (const s of same) t.equal(sqlChecksum(s), sqlChecksum(base), JSON.stringify(s));
  const changed = [
    'CREATE TABLE core.x (\n  a bigint -- the a\n);\n',
    'CREATE TABLE core.x (\n  a int, b int\n);\n',
    base + 'SELECT 1;\n',
    "CREATE TABLE core.x (\n  a int DEFAULT '-- x'\n);\n",
  ];
  for (const s of changed) t.not(sqlChecksum(s), sqlChecksum(base), JSON.stringify(s));
  t.not(fileChecksum(base), sqlChecksum(base), 'the two forms differ');
});

t.test('002_core.sql: the whole-text checksum an older release recorded is still accepted', async (t) => {
  const current = readFileSync(join(defaultMigrationsDir(), '002_core.sql'), 'utf8');
  t.notMatch(current, /DESIGN/, 'the comment cites docs/architecture.md');
  // the first two lines as applied by older releases (the comment cited a document the repository does not hold)
  const lines = current.split('\n');
  const before = [
    '-- Schemas and the core tables (DESIGN \u00a74). Schema core itself was created by',
    '-- the migration runner together with core.schema_migrations.',
    ...lines.slice(2),
  ].join('\n');
  const m = (await loadMigrations()).find((x) => x.file === '002_core.sql')!;
  t.equal(sqlChecksum(before), m.checksum, 'only comments changed');
  t.ok(m.earlierChecksums.includes(fileChecksum(before)), 'the older recorded checksum is accepted');
  t.ok(m.earlierChecksums.includes(fileChecksum(current)), 'the whole-text checksum of the file as it is, too');
});

t.test('migration file names', async (t) => {
  t.same(parseMigrationFileName('002_core.sql'), { version: 2, name: 'core' });
  t.same(parseMigrationFileName('0123_tenant_logins_2.sql'), { version: 123, name: 'tenant_logins_2' });
  for (const bad of ['7-Roles.sql', '01_x.sql', '002_Core.sql', '002_core.SQL', '002_.sql', '002_core.sql.bak', 'x'])
    t.equal(parseMigrationFileName(bad), null, bad);
});
