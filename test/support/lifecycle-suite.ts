/**
 * For the exactly-once lifecycle tests (test/pipeline/exactly-once-lifecycle*.test.ts): the hourly aggregates of a
 * tenant, an ingest run as the CLI, and the suite wrapper (the services, the migrated database, a tenant and root
 * per case, dropped after).
 */
import type { Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ingestArgs } from './cli-helpers.js';
import { dropDatabase, runCli, servicesSkip, servicesUp } from './services.js';

export async function hourly(pool: pg.Pool, tenant: string): Promise<string[]> {
  const r = await pool.query(
    `SELECT device_master_sn, channel_id, extract(epoch from hour)::bigint AS hour, samples, round(sum_value::numeric, 6) AS sum,
            min_value, max_value, round(energy_wh::numeric, 6) AS energy
       FROM core.hourly WHERE tenant = $1 ORDER BY 1, 2, 3`,
    [tenant],
  );
  return r.rows.map((x) => Object.values(x).join(' '));
}

/** `powerview ingest --json` over `paths` under `root` (no meta database, reports in `root/r`), with `flags`. */
export function ingest(env: Record<string, string>, root: string, paths: string[], flags: string[] = []) {
  return runCli(ingestArgs(root, '--report-dir', join(root, 'r'), ...flags, ...paths), env);
}

export interface LifecycleCase {
  env: Record<string, string>;
  pool: pg.Pool;
  /** tenants (and their InfluxDB databases) to drop at the end */
  dbs: string[];
  /** A tenant of its own (`<label>_<pid>`, dropped at the end), a temporary root and (`device`) a device folder. */
  archive: (label: string, device?: boolean) => { company: string; root: string; dir: string };
}

/** A suite of lifecycle cases: `body` adds its subtests. */
export function lifecycleSuite(t: Test, name: string, body: (t: Test, c: LifecycleCase) => void): void {
  t.test(name, { skip: servicesSkip }, async (t) => {
    const env = await servicesUp();
    const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
    const dbs: string[] = [];
    t.teardown(async () => {
      await pool.end();
      for (const db of dbs) await dropDatabase(env, db).catch(() => {});
    });
    t.equal((await runCli(['migrate', '--json'], env)).code, 0);
    const archive = (label: string, device = true) => {
      const company = `${label}_${process.pid}`;
      dbs.push(company);
      const root = mkdtempSync(join(tmpdir(), `pv-${label}-`));
      t.teardown(() => rmSync(root, { recursive: true, force: true }));
      const dir = join(root, company, 'c', '02001171');
      if (device) mkdirSync(dir, { recursive: true });
      return { company, root, dir };
    };

    body(t, { env, pool, dbs, archive });
  });
}
