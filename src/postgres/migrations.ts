import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes } from '../errors.js';
import { MigrationError } from './errors.js';
import { fileChecksum, sqlChecksum } from './migration-checksum.js';

/** One versioned SQL file, `NNN_name.sql`. */
export interface Migration {
  version: number;
  name: string;
  /** File name, e.g. `001_roles.sql`. */
  file: string;
  sql: string;
  /**
   * sha256 (hex) of the SQL without its comments and meaningless whitespace (migration-checksum.ts), CRLF read as
   * LF: what is recorded, so that a comment edit or a checkout's line endings do not count as a change.
   */
  checksum: string;
  /**
   * Checksums an older PowerView recorded for this migration (sha256 of the whole text, before comments stopped
   * counting): accepted for an applied migration as well as `checksum`.
   */
  earlierChecksums: string[];
  /**
   * `owner`: runs as admin_donnees when the session can become it, so that
   * admin_donnees owns what it creates (the default). `session`: runs as the
   * connecting role (the roles file: admin_donnees may not exist yet).
   * Set by a line `-- migrate:run-as session` in the file.
   */
  runAs: 'owner' | 'session';
}

/**
 * The migrations folder: read at run time from the project's source tree
 * (the compiled module is dist/src/postgres/, the SQL stays in
 * src/postgres/migrations/).
 */
export function defaultMigrationsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'postgres', 'migrations');
}

/**
 * Whole-text checksums of applied migrations whose comments were edited later (older PowerView releases recorded
 * them): the SQL is the same, only the comments changed (test/postgres/migration-checksum.test.ts checks it).
 */
const COMMENT_EDITS: Partial<Record<string, string[]>> = {
  // line 1 cited a design document the repository does not hold; it cites docs/architecture.md now
  '002_core.sql': ['6f89bbf2c8af97cb6c762e7831479a069cc97b473ef447b320c68cdd0a5a9764'],
};

const FILE_NAME = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

/** Version and name of a migration file `NNN_name.sql` (three digits or more, then lower-case words), or null. */
export function parseMigrationFileName(file: string): { version: number; name: string } | null {
  const m = FILE_NAME.exec(file);
  return m ? { version: Number(m[1]), name: m[2] } : null;
}

/** The migrations in `dir`, by version; a malformed name or a repeated version is an error. */
export async function loadMigrations(dir: string = defaultMigrationsDir()): Promise<Migration[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new MigrationError(
      ErrorCodes.MIGRATION_FAILED,
      `cannot read the migrations folder ${dir}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const out: Migration[] = [];
  const seen = new Map<number, string>();
  for (const file of names.filter((n) => n.endsWith('.sql')).sort()) {
    const parsed = parseMigrationFileName(file);
    if (!parsed) {
      throw new MigrationError(
        ErrorCodes.MIGRATION_FAILED,
        `migration file name ${file} is not NNN_name.sql (digits, then lower-case letters, digits, _)`,
        { file },
      );
    }
    const { version, name } = parsed;
    const twin = seen.get(version);
    if (twin)
      throw new MigrationError(
        ErrorCodes.MIGRATION_FAILED,
        `migrations ${twin} and ${file} have the same version ${version}`,
        { file },
      );
    seen.set(version, file);
    const sql = (await readFile(join(dir, file), 'utf8')).replace(/\r\n/g, '\n');
    const directive = /^--\s*migrate:run-as\s+(\S+)\s*$/m.exec(sql);
    if (directive && directive[1] !== 'session' && directive[1] !== 'owner') {
      throw new MigrationError(
        ErrorCodes.MIGRATION_FAILED,
        `${file}: migrate:run-as must be session or owner, got ${directive[1]}`,
        { file },
      );
    }
    out.push({
      version,
      name,
      file,
      sql,
      checksum: sqlChecksum(sql),
      earlierChecksums: [fileChecksum(sql), ...(COMMENT_EDITS[file] ?? [])],
      runAs: directive?.[1] === 'session' ? 'session' : 'owner',
    });
  }
  return out.sort((a, b) => a.version - b.version);
}

/** 1-based line of a 1-based character position in `text`. */
export function lineOf(text: string, position: number): number {
  let line = 1;
  for (let i = 0; i < Math.min(position - 1, text.length); i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
