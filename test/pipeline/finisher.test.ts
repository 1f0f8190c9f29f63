/**
 * The Finisher, with a stub InfluxDB stage and PostgreSQL off: the answer of
 * InfluxDB decides where the file goes (parsed/, error/, left in place), and
 * the report is rendered from the values without touching the parsed one.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '../../src/errors.js';
import { Finisher, leftInPlace } from '../../src/pipeline/finisher.js';
import { emptyFileReport, type FileReport } from '../../src/pipeline/report.js';
import type { InfluxResult, InfluxStage } from '../../src/pipeline/influx-stage.js';
import type { FileTask } from '../../src/pipeline/pipeline.js';

function setup(t: Test, answer: InfluxResult) {
  const dir = mkdtempSync(join(tmpdir(), 'pv-finisher-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const device = join(dir, 'acme', 'c1', '02001171');
  mkdirSync(device, { recursive: true });
  const path = join(device, 'a.tsv');
  writeFileSync(path, 'data\n');
  const task: FileTask = { path, identity: { tenant: 'acme', campaign: 'c1' } };
  const parsed: Readonly<FileReport> = Object.freeze({ ...emptyFileReport(path, task.identity), points: 3 });
  const influx = { outcome: async () => answer, batcher: { fatal: null } } as unknown as InfluxStage;
  const finisher = new Finisher({ runId: 'r', moveFiles: true, verify: false }, influx, null, null);
  return { device, path, task, parsed, finisher };
}

t.test('every line stored: parsed/, the written lines reported', async (t) => {
  const s = setup(t, { written: { lines: 3, batches: 1 }, error: null, rejected: false });
  const before = JSON.stringify(s.parsed);
  const report = (await s.finisher.finish(s.parsed, s.task, null))!;
  t.equal(report.status, 'ok');
  t.same(report.written, { lines: 3, batches: 1 });
  t.equal(report.moved_to, join(s.device, 'parsed', 'a.tsv'));
  t.ok(existsSync(join(s.device, 'parsed', 'a.tsv')));
  t.equal(JSON.stringify(s.parsed), before, 'the parsed value is not changed');
});

t.test('lines rejected: error/, with the cause', async (t) => {
  const error = { code: ErrorCodes.STORE_REJECTED, message: 'HTTP 400: bad line', http_status: 400 };
  const s = setup(t, { written: { lines: 0, batches: 1, refused: 3 }, error, rejected: true });
  const report = (await s.finisher.finish(s.parsed, s.task, null))!;
  t.equal(report.status, 'error');
  t.equal(report.error?.code, ErrorCodes.STORE_REJECTED);
  t.equal(report.moved_to, join(s.device, 'error', 'a.tsv'));
});

t.test('InfluxDB gave up: the file is left in place for a later run', async (t) => {
  const error = { code: ErrorCodes.STORE_UNAVAILABLE, message: 'InfluxDB unavailable' };
  const s = setup(t, { written: { lines: 0, batches: 1 }, error, rejected: false });
  const report = (await s.finisher.finish(s.parsed, s.task, null))!;
  t.equal(report.error?.code, ErrorCodes.STORE_UNAVAILABLE);
  t.equal(report.moved_to, null);
  t.ok(existsSync(s.path));
});

t.test('a file left in place without being read: its size, its cause, no move', async (t) => {
  const task: FileTask = { path: '/d/a.tsv', identity: { tenant: 'acme', campaign: 'c1' }, size: 42 };
  const r = leftInPlace(task, { code: ErrorCodes.STORE_UNAVAILABLE, message: 'not processed' });
  t.equal(r.bytes, 42);
  t.equal(r.status, 'error');
  t.equal(r.moved_to, null);
  t.notOk('written' in r);
});
