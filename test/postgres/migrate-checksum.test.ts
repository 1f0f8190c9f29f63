/**
 * Migration checksums against the real PostgreSQL of ops/services.sh: a
 * database whose ledger holds the whole-text checksums older releases
 * recorded still migrates, a comment edit passes, a statement edit is refused
 * with the message of a modified migration.
 */
import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '../../src/errors.js';
import { MigrationError } from '../../src/postgres/errors.js';
import { fileChecksum } from '../../src/postgres/migration-checksum.js';
import { defaultMigrationsDir, loadMigrations } from '../../src/postgres/migrations.js';
import { assertMigrated, migrate } from '../../src/postgres/migrate.js';
import { servicesSkip } from '../support/services.js';
import { testDatabase } from '../support/postgres-db.js';

t.setTimeout(300_000);

function migrationsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pv-migrations-sum-'));
  cpSync(defaultMigrationsDir(), dir, { recursive: true });
  return dir;
}

function edit(dir: string, file: string, change: (sql: string) => string): void {
  const path = join(dir, file);
  const before = readFileSync(path, 'utf8');
  const after = change(before);
  if (after === before) throw new Error(`the edit of ${file} changed nothing`);
  writeFileSync(path, after);
}

const refusal = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => null,
    (e: unknown) => e,
  );

t.test('migration checksums', { skip: servicesSkip }, async (t) => {
  const all = await loadMigrations();

  t.test('a database migrated with the older whole-text checksums passes', async (t) => {
    const db = await testDatabase(t, 'oldsums');
    await migrate(db.pool);
    // what an older release recorded: sha256 of each file's text (002 with the comment it had then)
    const older = all.map((m) => (m.file === '002_core.sql' ? m.earlierChecksums.at(-1)! : fileChecksum(m.sql)));
    t.equal(older[1], '6f89bbf2c8af97cb6c762e7831479a069cc97b473ef447b320c68cdd0a5a9764');
    await db.pool.query(
      `UPDATE core.schema_migrations s SET checksum = u.sum
         FROM unnest($1::int[], $2::text[]) AS u(version, sum) WHERE s.version = u.version`,
      [all.map((m) => m.version), older],
    );
    const again = await migrate(db.pool);
    t.same([again.applied.length, again.already_applied], [0, all.length], 'nothing to apply, nothing refused');
    await assertMigrated(db.pool);
    const kept = await db.pool.query<{ checksum: string }>('SELECT checksum FROM core.schema_migrations ORDER BY 1');
    t.same(
      kept.rows.map((r) => r.checksum),
      [...older].sort(),
      'the recorded checksums are left as they are (an older build may share the database)',
    );

    const dir = migrationsCopy();
    edit(dir, '003_hourly_merge.sql', (sql) => sql.replace(/;\s*$/, ';\nSELECT 1;\n'));
    const err = await refusal(migrate(db.pool, { dir }));
    t.equal((err as MigrationError).code, ErrorCodes.MIGRATION_CHECKSUM, 'a statement edit is still refused');
  });

  t.test('a comment edit passes', async (t) => {
    const db = await testDatabase(t, 'commentedit');
    const dir = migrationsCopy();
    await migrate(db.pool, { dir });
    edit(
      dir,
      '003_hourly_merge.sql',
      (sql) => `-- a reworded header\n${sql.replace(/^--.*$/m, '-- reworded')}\n\n/* a note */\n`,
    );
    edit(dir, '002_core.sql', (sql) => sql.replace(/\n/, '   \n-- another line of comment\n'));
    const again = await migrate(db.pool, { dir });
    t.same(again.applied, [], 'nothing applied');
    await assertMigrated(db.pool, dir);
  });

  t.test('a statement edit is refused with the existing message', async (t) => {
    const db = await testDatabase(t, 'statementedit');
    const dir = migrationsCopy();
    await migrate(db.pool, { dir });
    edit(dir, '002_core.sql', (sql) =>
      sql.replace("COMMENT ON SCHEMA staging IS 'PowerView:", "COMMENT ON SCHEMA staging IS 'PV:"),
    );
    const err = await refusal(migrate(db.pool, { dir }));
    t.ok(err instanceof MigrationError, 'a MigrationError');
    t.equal((err as MigrationError).code, ErrorCodes.MIGRATION_CHECKSUM);
    t.equal((err as MigrationError).file, '002_core.sql');
    t.match(
      (err as Error).message,
      /^migration 002_core\.sql was modified after it was applied \(checksum [0-9a-f]{12}…, applied [0-9a-f]{12}…\): restore it and put the change in a new migration$/,
    );
    const dry = await refusal(migrate(db.pool, { dir, dryRun: true }));
    t.equal((dry as MigrationError).code, ErrorCodes.MIGRATION_CHECKSUM, 'the dry run refuses too');
  });
});
