import { resolve } from 'node:path';
import { environment } from '../config/config.js';
import { PowerViewError, UsageError, ErrorCodes } from '../errors.js';
import { describePg, resolvePgConfig } from '../postgres/config.js';
import { readCatalog, renderDatasetDocs, writeDatasetDocs } from '../postgres/datasets.js';
import { createPool } from '../postgres/db.js';
import { toDatabaseError } from '../postgres/errors.js';

export interface DatasetsDocsFlags {
  out?: string;
  databaseUrl?: string;
  json?: boolean;
}

/** `powerview datasets docs`: one markdown page per catalog row and an index, from core.datasets_catalog. */
export async function runDatasetsDocs(flags: DatasetsDocsFlags): Promise<number> {
  const config = resolvePgConfig(flags, environment());
  const out = resolve(flags.out ?? 'docs/datasets');
  const pool = createPool(config, { max: 1, applicationName: 'powerview datasets' });
  try {
    const catalog = await readCatalog(pool);
    const result = await writeDatasetDocs(out, renderDatasetDocs(catalog)).catch((err: unknown) => {
      throw new UsageError(`--out: cannot write the docs to ${out}: ${(err as Error).message}`, ErrorCodes.CONFIG);
    });
    if (!flags.json && process.stdout.isTTY) {
      process.stdout.write(
        `${out}: ${result.written.length} file(s) written` +
          (result.removed.length ? `, ${result.removed.length} removed (${result.removed.join(', ')})` : '') +
          '\n',
      );
    } else {
      process.stdout.write(`${JSON.stringify({ database: describePg(config), out, ...result }, null, 2)}\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const e = err instanceof PowerViewError ? err : toDatabaseError(err, 'datasets docs');
    process.stderr.write(`powerview: ${e.code}: ${e.message}\n`);
    return e.code === ErrorCodes.DATABASE_AUTH ? 2 : 1;
  } finally {
    await pool.end().catch(() => {});
  }
}
