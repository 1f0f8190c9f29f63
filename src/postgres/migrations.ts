import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes } from '../errors.js';
import { MigrationError } from './errors.js';

/** One versioned SQL file, `NNN_name.sql`. */
export interface Migration {
  version: number;
  name: string;
  /** File name, e.g. `001_roles.sql`. */
  file: string;
  sql: string;
  /** sha256 (hex) of the text with CRLF turned into LF, so a checkout's line endings do not matter. */
  checksum: string;
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

const FILE_NAME = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

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
    const m = FILE_NAME.exec(file);
    if (!m) {
      throw new MigrationError(
        ErrorCodes.MIGRATION_FAILED,
        `migration file name ${file} is not NNN_name.sql (digits, then lower-case letters, digits, _)`,
        { file },
      );
    }
    const version = Number(m[1]);
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
      name: m[2],
      file,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
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
