/**
 * Issue 16: whole runs (runIngestJob: discover → parse → batch → write →
 * move) against stand-ins that answer as InfluxDB 2.x and 3.x answer in
 * their source (test/influx-mock/: every route cites the file it follows).
 * The request-level details are in influx-writer.test.ts and
 * provision-influx-readers.test.ts; here, what a user sees: exit codes,
 * file outcomes, where the files went, what the report says.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateArchive } from '../fixtures/generate.js';
import { discover } from '../src/pipeline/discover.js';
import { runIngestJob } from '../src/pipeline/ingest-job.js';
import { resolveInfluxConfig, type InfluxApi } from '../src/influx/config.js';
import { startInfluxMock, type InfluxMock, type InfluxMockOptions } from './influx-mock.js';

const TOKEN = 'operator-token-of-the-test';

interface Archive {
  root: string;
  files: string[];
}

async function archive(companies: string[], opts: { files?: number; rows?: number; channels?: number; devices?: number } = {}): Promise<Archive> {
  const root = mkdtempSync(join(tmpdir(), 'pv-ver-'));
  const files: string[] = [];
  for (const [i, company] of companies.entries()) {
    const made = await generateArchive({
      out: root, company, campaign: 'c1', devices: opts.devices ?? 1, files: opts.files ?? 2, rows: opts.rows ?? 120, channels: opts.channels ?? 6,
      slaves: 0, format: 'v003', step: 60, start: Date.UTC(2025, 0, 1) / 1000, defects: [], seed: 11 + i,
    });
    files.push(...made.files);
  }
  return { root, files };
}

async function run(mock: InfluxMock, api: InfluxApi, a: Archive, env: NodeJS.ProcessEnv = {}, metaDb = 'powerview_meta') {
  const tasks = await discover([a.root], { root: a.root });
  return runIngestJob(tasks, {
    pipeline: { workers: 0 },
    influx: resolveInfluxConfig({ influxUrl: mock.url, influxApi: api, storeWait: '5' }, { INFLUX_TOKEN: TOKEN, INFLUX_ORG: mock.org, ...env }),
    metaDb,
    moveFiles: true,
  });
}

const mockOf = (t: Test, options: InfluxMockOptions = {}) => startInfluxMock(t, { token: TOKEN, ...options });

t.test('InfluxDB 2.x: a backfill of one tenant creates its bucket (lookup 404 → create) and lands every point', async (t) => {
  const mock = await mockOf(t);
  const a = await archive(['bravo']);
  const { exitCode, report } = await run(mock, 'v2', a);
  t.equal(exitCode, 0, `exit 0 (was 2: cannot create database "bravo" (HTTP 404): bucket "bravo" not found) ${report.store_failure?.message ?? ''}`);
  t.equal(report.totals.files_ok, a.files.length);
  t.ok(mock.hasDatabase('bravo') && mock.hasDatabase('powerview_meta'), 'the tenant bucket and the meta bucket were created');
  t.equal(mock.points('bravo').length, report.totals.points, 'every point is in the bucket');
  const lookups = mock.requests.filter((r) => r.method === 'GET' && r.path === '/api/v2/buckets');
  t.ok(lookups.length >= 2 && lookups.every((r) => r.status === 404), 'each lookup of a missing bucket answered 404');
  for (const f of report.files) t.match(f.moved_to, /\/parsed\//, `${f.path} moved to parsed/`);
});
