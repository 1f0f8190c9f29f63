/**
 * A run ends cleanly, or goes on, when a file or the report folder fails
 * under it: a file that shrinks while read, a report folder that cannot be
 * written, a store failure while a file waits for an overlapping earlier one.
 * Each failed (hung or crashed) before its fix.
 */
import t from 'tap';
import { mkdtempSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discover } from '../../src/pipeline/discover.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { runIngestJob } from '../../src/pipeline/ingest-job.js';
import { resolveInfluxConfig } from '../../src/influx/config.js';
import type { FileTask } from '../../src/pipeline/pipeline.js';
import { server, small } from '../support/stub-runs.js';

t.test('a file that shrinks during pass 2 gives back its slot: the next file still runs', async (t) => {
  const { tasks } = await small(2);
  let truncated = false;
  const sink = {
    async write(_chunk: Uint8Array, task?: FileTask) {
      if (!truncated && task === tasks[0]) {
        truncated = true;
        truncateSync(tasks[0].path, 3000);
      }
    },
    async close() {},
  };
  const p = new Pipeline({ workers: 0, blockBytes: 4096, maxBlocksInFlight: 1, keepWholeBytes: 0, sink });
  t.teardown(() => p.close());
  const reports = await Promise.race([
    p.run(tasks),
    new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000).unref()),
  ]);
  t.not(reports, 'hung', 'the run ends');
  if (reports === 'hung') return;
  t.same(
    reports.map((r) => r.status),
    ['error', 'ok'],
  );
  t.match(reports[0].error?.message, /shrank/);
});

t.test('an unwritable report folder is a warning, not a crash: the data still lands', async (t) => {
  const { tasks } = await small(1);
  const url = await server(t, (req, _body, res) => {
    if (req.url!.startsWith('/query')) return res.writeHead(200).end('{"results":[{}]}');
    res.writeHead(204).end();
  });
  const { exitCode, report } = await runIngestJob(tasks, {
    pipeline: { workers: 0 },
    influx: resolveInfluxConfig({ influxUrl: url }, {}),
    metaDb: '',
    reportDir: join(tasks[0].path, 'not-a-dir'), // below a file: ENOTDIR
  });
  t.equal(exitCode, 0);
  t.equal(report.report_path, null);
  t.equal(report.files.length, 1);
});

t.test('a store failure while a file waits for an overlapping earlier file ends the run (no hang)', async (t) => {
  // two overlapping files of one device: the second waits for the first to be parsed
  const root = mkdtempSync(join(tmpdir(), 'pv-reg-'));
  const { writeFile: writeTsv } = await import('../../fixtures/generate.js');
  const dir = join(root, 'acme', 'c', '02001171');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const base = {
    format: 'v003' as const,
    masterSn: '02001171',
    channels: 6,
    slaves: 0,
    slaveChannels: 0,
    rows: 4000,
    step: 60,
    defects: [],
    seed: 1,
  };
  await writeTsv(join(dir, 'T302_250101_000000.tsv'), { ...base, start: Date.UTC(2025, 0, 1) / 1000 });
  await writeTsv(join(dir, 'T302_250102_000000.tsv'), { ...base, start: Date.UTC(2025, 0, 1) / 1000 + 3000 * 60 });
  const tasks = await discover([root], { root });
  // PostgreSQL as ExactlyOnce sees it: nothing known, nothing held
  const store = {
    ensureTenant: async () => {},
    knownFile: async () => null,
    planLookup: async () => ({ known: null, runs: new Map(), version: 0 }),
    deviceLayout: async () => null,
    coverage: async () => new Map(),
    coverageVersioned: async () => ({ runs: new Map(), version: 0 }),
    coverageVersion: async () => 0,
  };
  const { ExactlyOnce } = await import('../../src/pipeline/exactly-once.js');
  const once = new ExactlyOnce(store as never);
  let writes = 0;
  const sink = {
    async write() {
      // the first write of file 1 fails while the reader, done with file 1, waits in file 2's plan
      if (++writes === 1) {
        await new Promise((r) => setTimeout(r, 200));
        throw new Error('store gone');
      }
    },
    async close() {},
  };
  const p = new Pipeline({
    workers: 0,
    blockBytes: 1 << 20,
    maxBlocksInFlight: 4,
    sink,
    planFile: once.planFile,
    onConsumed: once.onConsumed,
    onAbort: once.abort,
  });
  t.teardown(() => p.close());
  const outcome = await Promise.race([
    p.run(tasks).then(
      () => 'finished',
      (e: Error) => e.message,
    ),
    new Promise<string>((r) => setTimeout(() => r('hung'), 10_000).unref()),
  ]);
  t.equal(outcome, 'store gone', 'the run ends with the sink failure');
});
