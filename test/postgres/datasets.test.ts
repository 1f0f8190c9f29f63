/**
 * core.datasets_catalog and `powerview datasets docs`: every bi view has a
 * catalog row whose columns are the view's (names, order, types), owner and
 * readers are the real ones; the docs are deterministic and the committed
 * docs/datasets are what the catalog generates.
 */
import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GENERATED_MARK, readCatalog, renderDatasetDocs, writeDatasetDocs } from '../../src/postgres/datasets.js';
import { migrate } from '../../src/postgres/migrate.js';
import { projectRoot } from '../support/helpers.js';
import { runCli, servicesSkip } from '../support/services.js';
import { testDatabase } from '../support/postgres-db.js';

t.setTimeout(300_000);

const committed = join(projectRoot, 'docs', 'datasets');

function folder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = readFileSync(join(dir, f), 'utf8');
  return out;
}

t.test('datasets catalog and docs', { skip: servicesSkip }, async (t) => {
  const db = await testDatabase(t, 'datasets');
  await migrate(db.pool);
  const catalog = await readCatalog(db.pool);

  t.test('one catalog row per bi view, with its real columns, owner and readers', async (t) => {
    const views = await db.pool.query<{ name: string; owner: string }>(
      "SELECT viewname AS name, viewowner AS owner FROM pg_views WHERE schemaname = 'bi' ORDER BY 1",
    );
    t.same(
      catalog.map((d) => `${d.schema_name}.${d.name}`).sort(),
      views.rows.map((v) => `bi.${v.name}`),
      'the same set',
    );
    for (const d of catalog) {
      const cols = await db.pool.query<{ name: string; type: string }>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
          WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [`${d.schema_name}.${d.name}`],
      );
      t.same(
        d.columns.map((c) => ({ name: c.name, type: c.type })),
        cols.rows,
        `${d.name}: columns and types, in order`,
      );
      for (const c of d.columns) t.ok(c.description.length > 5, `${d.name}.${c.name} is described`);
      t.equal(d.owner_role, views.rows.find((v) => v.name === d.name)!.owner, `${d.name}: owner`);
      const readers = await db.pool.query<{ r: string }>(
        `SELECT DISTINCT pg_get_userbyid(x.grantee) AS r FROM pg_class c, aclexplode(c.relacl) x
          WHERE c.oid = $1::regclass AND x.privilege_type = 'SELECT' AND x.grantee <> c.relowner ORDER BY 1`,
        [`${d.schema_name}.${d.name}`],
      );
      t.same(
        [...d.reader_roles].sort(),
        readers.rows.map((r) => r.r),
        `${d.name}: readers`,
      );
    }
    t.ok(
      catalog.some((d) => d.columns.some((c) => c.name === 'energy_wh' && c.unit === 'Wh')),
      'units are given',
    );
  });

  t.test('the docs are deterministic and the committed ones are current', async (t) => {
    const a = renderDatasetDocs(catalog);
    const b = renderDatasetDocs([...catalog].reverse());
    t.same([...a.entries()], [...b.entries()], 'same catalog in another order: same files, same bytes');
    t.equal(a.size, catalog.length + 1, 'one page per dataset and README.md');
    for (const text of a.values()) t.ok(text.startsWith(GENERATED_MARK));

    const dir = mkdtempSync(join(tmpdir(), 'pv-datasets-'));
    await writeDatasetDocs(dir, a);
    t.same(
      folder(dir),
      folder(committed),
      'docs/datasets is what `powerview datasets docs` writes (regenerate and commit it)',
    );
  });

  t.test('CLI: datasets docs writes, rewrites identically, removes only stale generated pages', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pv-datasets-cli-'));
    writeFileSync(join(dir, 'notes.md'), '# hand-written\n');
    writeFileSync(join(dir, 'bi.vw_gone.md'), `${GENERATED_MARK}\n\n# bi.vw_gone\n`);
    const r = await runCli(['datasets', 'docs', '--out', dir, '--json', '--database-url', db.url], db.env);
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    t.same(out.removed, ['bi.vw_gone.md']);
    t.equal(out.written.length, catalog.length + 1);
    t.ok(existsSync(join(dir, 'notes.md')), 'a file it did not generate stays');
    const first = folder(dir);
    const again = await runCli(['datasets', 'docs', '--out', dir, '--json'], db.env, { DATABASE_URL: db.url });
    t.equal(again.code, 0);
    t.same(folder(dir), first, 'a second run writes the same bytes');
  });

  t.test('CLI: on a database without the schema, PV_ERR_NOT_MIGRATED', async (t) => {
    const empty = await testDatabase(t, 'datasets_empty');
    const r = await runCli(
      ['datasets', 'docs', '--out', mkdtempSync(join(tmpdir(), 'pv-x-')), '--database-url', empty.url],
      empty.env,
    );
    t.equal(r.code, 1);
    t.match(r.stderr, /PV_ERR_NOT_MIGRATED: .*run powerview migrate/);
  });
});
