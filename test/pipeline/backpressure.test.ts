/**
 * Backpressure (docs/architecture.md, "Pipeline and serve"): a stalled
 * InfluxDB makes reading wait. While the store holds every write request, the
 * pipeline reads no more than its bounded buffers hold; released, the run completes with every line written once.
 *
 * No assertion depends on how fast a busy machine runs: the bound is checked
 * at every progress event while the store is stalled (not sampled after a
 * sleep), and the stall lasts until the store holds requests and the reading
 * has stopped (or passed the bound), however long that takes.
 */
import t from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import { generateArchive } from '../../fixtures/generate.js';
import { discover } from '../../src/pipeline/discover.js';
import { runIngestJob } from '../../src/pipeline/ingest-job.js';
import { resolveInfluxConfig } from '../../src/influx/config.js';

t.test('a stalled store stops the reading; released, every line arrives once', async (t) => {
  let stalled = true;
  const held: Array<() => void> = [];
  let lines = 0;
  let maxInFlight = 0;
  let inFlight = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      if (req.url!.startsWith('/query')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"results":[{"statement_id":0}]}');
        return;
      }
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const answer = () => {
        inFlight--;
        lines += Buffer.concat(parts).toString().split('\n').filter(Boolean).length;
        res.writeHead(204).end();
      };
      if (stalled) held.push(answer);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const root = mkdtempSync(join(tmpdir(), 'pv-bp-'));
  await generateArchive({
    out: root,
    company: 'bp',
    campaign: 'c',
    devices: 5,
    files: 60,
    rows: 1000,
    channels: 24,
    slaves: 2,
    format: 'v003',
    step: 60,
    start: Date.UTC(2025, 0, 1) / 1000,
    defects: [],
    seed: 5,
  });
  const tasks = await discover([root], { root });
  const total = tasks.reduce((s, x) => s + (x.size ?? 0), 0);
  let read = 0;
  /** the most bytes consumed at any progress event while the store held every request */
  let maxReadWhileStalled = 0;
  let lastProgress = Date.now();
  const BOUND = 2 * 1024 * 1024;
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const job = runIngestJob(tasks, {
    pipeline: { workers: 1 },
    influx: resolveInfluxConfig({ influxUrl: url }, {}),
    metaDb: '',
    moveFiles: false,
    onProgress: (p) => {
      if (p.bytes !== read) lastProgress = Date.now();
      read = p.bytes;
      if (stalled) maxReadWhileStalled = Math.max(maxReadWhileStalled, read);
    },
  });
  let jobEnded = false;
  void job.finally(() => (jobEnded = true));
  // stalled until the store holds requests and the reading has stopped for a while, or passed the bound
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && !jobEnded && read <= BOUND && (held.length === 0 || Date.now() - lastProgress < 2000))
    await sleep(100);
  t.ok(held.length > 0, 'the store holds requests');
  t.notOk(jobEnded, 'the run waits for the store');
  t.ok(maxInFlight <= 4, `at most 4 requests in flight (${maxInFlight})`);
  // bounded buffers: blocks in flight (3 × 256 KiB of TSV) and batches (5 × 5,000 lines ≈ 0.2 MB of TSV)
  t.ok(
    maxReadWhileStalled < BOUND,
    `reading waits: at most ${maxReadWhileStalled} of ${total} bytes consumed while stalled`,
  );
  t.ok(total > 10 * 1024 * 1024, `the archive is much larger than that (${total} bytes)`);
  stalled = false;
  for (const answer of held.splice(0)) answer();
  const { report, exitCode } = await job;
  t.equal(exitCode, 0);
  t.equal(report.totals.files_ok, 60);
  t.equal(lines, 60 * 1000 * 24, 'every line arrived once');
  t.equal(report.totals.points, lines);
});
