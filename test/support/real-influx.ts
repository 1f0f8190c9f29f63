/**
 * For the tests of `powerview ingest` against the real InfluxDB 1.x (test/influx/ingest-real-influxdb*.test.ts):
 * generated archives, database names of this process, a file tree, and the suite wrapper that holds the services
 * and drops the databases it made.
 */
import type { Test } from 'tap';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateArchive, type ArchiveSpec } from '../../fixtures/generate.js';
import { dropDatabase, servicesSkip, servicesUp } from './services.js';

let seq = 0;
/** a database name of this test process alone */
export const company = (tag: string) => `it_${tag}_${process.pid}_${seq++}`;

export function archive(t: Test, spec: Partial<ArchiveSpec> & { company: string }) {
  const out = mkdtempSync(join(tmpdir(), 'pv-ingest-'));
  t.teardown(() => {});
  return generateArchive({
    out,
    campaign: 'camp-1',
    devices: 2,
    files: 4,
    rows: 60,
    channels: 6,
    slaves: 0,
    format: 'v003',
    step: 600,
    start: Date.UTC(2025, 3, 1) / 1000,
    defects: [],
    seed: 7,
    ...spec,
  }).then((a) => ({ ...a, root: out }));
}

/** every file under dir, relative, sorted */
export function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), join(rel, e.name));
      else out.push(join(rel, e.name));
    }
  };
  walk(dir, '');
  return out.sort();
}

/** `powerview ingest --no-postgres --json [flags]` over `root`, reports in `root/r`: the CLI arguments. */
export function influxOnly(root: string, ...flags: string[]): string[] {
  return ['ingest', '--no-postgres', '--json', ...flags, '--root', root, '--report-dir', join(root, 'r'), root];
}

/** A suite against the real InfluxDB: `body` adds its subtests; the databases named in `dbs` are dropped after. */
export function realInfluxSuite(
  t: Test,
  name: string,
  body: (t: Test, env: Record<string, string>, dbs: string[]) => void,
): void {
  t.test(name, { skip: servicesSkip }, async (t) => {
    const env = await servicesUp();
    const dbs: string[] = [];
    t.teardown(async () => {
      for (const db of dbs) await dropDatabase(env, db).catch(() => {});
    });
    body(t, env, dbs);
  });
}
