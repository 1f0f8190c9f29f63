import { readdir, stat } from 'node:fs/promises';
import { DEFAULT_V002_TIME_ZONE } from '../tsv/timezone.js';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { ErrorCodes, UsageError } from '../errors.js';
import type { FileIdentity } from '../influx/series.js';
import { exportOrder } from './export-order.js';
import type { FileTask } from './parser.js';

import { PROCESSED_DIRS } from './lifecycle.js';
export { PROCESSED_DIRS } from './lifecycle.js';

export interface DiscoverOptions {
  /** `<root>/<company>/<campaign>/<device>/<file>`; inferred when absent */
  root?: string;
  /** walk into parsed/ and error/ folders too */
  includeProcessed?: boolean;
  /** identity overrides, for files outside the layout */
  company?: string;
  campaign?: string;
  /** the tenant's zone: export times in file names are wall-clock time there (default Europe/Paris) */
  timeZone?: string;
}

/** Upload leftovers and hidden files are never data. */
export function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || name.includes('.sftpgo-upload.');
}

async function walk(dir: string, includeProcessed: boolean, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (isIgnoredName(e.name)) continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      if (!includeProcessed && PROCESSED_DIRS.has(e.name)) continue;
      await walk(full, includeProcessed, out);
    } else if (e.isFile() && e.name.toLowerCase().endsWith('.tsv')) out.push(full);
  }
}

/** The folder holding a file's device: the file's parent, or the one above parsed/ and error/. */
function deviceDir(file: string): string {
  const parent = dirname(file);
  return PROCESSED_DIRS.has(basename(parent)) ? dirname(parent) : parent;
}

/** The root that makes `<root>/<company>/<campaign>/<device>/` fit for this file, or null. */
function candidateRoot(file: string): string | null {
  const device = deviceDir(file);
  const campaign = dirname(device);
  const company = dirname(campaign);
  const root = dirname(company);
  return root === company ? null : root;
}

export function identityOf(file: string, root: string, overrides: DiscoverOptions = {}): FileIdentity | null {
  const rel = relative(root, deviceDir(file));
  const parts = rel.split(sep);
  if (rel.startsWith('..') || parts.length !== 3 || parts.some((p) => p === '' || p === '..')) {
    if (overrides.company && overrides.campaign) {
      return { tenant: overrides.company, campaign: overrides.campaign };
    }
    return null;
  }
  return {
    tenant: overrides.company ?? parts[0],
    campaign: overrides.campaign ?? parts[1],
    device: parts[2],
  };
}

/**
 * PATHs (files or folders) → the files to ingest, in export order (the
 * export time in the file name, see export-order.ts; files without one last,
 * in path order), each with its company/campaign/device.
 */
export async function discover(paths: string[], options: DiscoverOptions = {}): Promise<FileTask[]> {
  if (paths.length === 0) throw new UsageError('no PATH given: name files or folders to ingest');
  const files: string[] = [];
  for (const p of paths) {
    const full = resolve(p);
    let st;
    try {
      st = await stat(full);
    } catch {
      throw new UsageError(`${p}: no such file or folder`);
    }
    if (st.isDirectory()) await walk(full, options.includeProcessed ?? false, files);
    else files.push(full);
  }
  // export order whatever the order of the arguments or the names' prefixes (a renamed file)
  const unique = [...new Set(files)].sort(exportOrder(options.timeZone ?? DEFAULT_V002_TIME_ZONE));
  const overridden = Boolean(options.company && options.campaign);
  let root = options.root ? resolve(options.root) : undefined;
  // with --company/--campaign and no root, nothing is guessed from the folders
  if (!root && unique.length > 0 && !overridden) {
    const candidates = new Set(unique.map(candidateRoot));
    if (candidates.size === 1 && !candidates.has(null)) root = [...candidates][0]!;
    else {
      throw new UsageError(
        'cannot infer the data root: files are not all at <root>/<company>/<campaign>/<device>/<file>; ' +
          'give --root DIR (or POWERVIEW_DATA_ROOT), or --company and --campaign',
        ErrorCodes.PATH_LAYOUT,
      );
    }
  }
  const tasks: FileTask[] = [];
  for (const f of unique) {
    const identity = root ? identityOf(f, root, options) : { tenant: options.company!, campaign: options.campaign! };
    if (!identity) {
      throw new UsageError(
        `${f} is not at <root>/<company>/<campaign>/<device>/<file> under ${root}: fix --root or give --company and ` +
          `--campaign`,
        ErrorCodes.PATH_LAYOUT,
      );
    }
    const size = (await stat(f)).size;
    tasks.push({ path: f, identity, size, ...(root ? { root } : {}) });
  }
  return tasks;
}
