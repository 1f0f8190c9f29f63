/**
 * A re-export comparison (held points compared with what InfluxDB holds)
 * runs beside the parser: while one file's comparison waits for the store,
 * the next files are parsed, written and reported. Before, the consume loop
 * awaited each comparison, so one slow query held up every other device.
 */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateArchive } from '../../fixtures/generate.js';
import { discover } from '../../src/pipeline/discover.js';
import { Pipeline, type FilePlan, type FileTask } from '../../src/pipeline/pipeline.js';
import { HeldPoints, timeProfile } from '../../src/pipeline/coverage.js';
import type { ConflictSource } from '../../src/pipeline/conflicts.js';
import type { StoredValues } from '../../src/influx/points-query.js';
import type { ScanResult } from '../../src/tsv/scanner.js';
import type { FileReport } from '../../src/pipeline/report.js';

const ROWS = 300;
const CHANNELS = 6;

/** One V003 file per device, `devices` devices, discovered in order. */
async function archive(devices: number): Promise<FileTask[]> {
  const root = mkdtempSync(join(tmpdir(), 'pv-conflicts-'));
  await generateArchive({
    ...{ out: root, company: 'acme', campaign: 'c', devices, files: devices, rows: ROWS, channels: CHANNELS },
    ...{ slaves: 0, format: 'v003', step: 60, start: Date.UTC(2025, 0, 1) / 1000, defects: [], seed: 4 },
  });
  const tasks = await discover([root], { root });
  t.equal(tasks.length, devices, 'one file per device');
  return tasks;
}

/** A plan in which every point of `task` is held (an earlier file brought them), or none. */
function planner(heldFor: (task: FileTask) => boolean) {
  return async (task: FileTask, scan: ScanResult): Promise<FilePlan> => {
    const { from, to, step } = timeProfile(scan.blocks.map((b) => b.epochs));
    const runs = scan.header.channels.map(() => [{ start: from, step, n: (to - from) / step + 1 }]);
    return {
      held: heldFor(task) ? new HeldPoints(runs, from, to) : null,
      power: Uint8Array.from(scan.header.channels, (c) => (c.unit === 'W' ? 1 : 0)),
      stepSeconds: step,
    };
  };
}

/** A store whose answers wait until `release()`: the comparison of a file is held up meanwhile. */
function slowStore() {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const queried: string[] = [];
  const source: ConflictSource = {
    async values(_db, masterSn, fields): Promise<StoredValues> {
      queried.push(masterSn);
      await gate;
      // nothing stored: every held point is reported missing
      return new Map(fields.map((f) => [f, new Map<number, number>()]));
    },
    async barrier() {},
  };
  return { source, release, queried };
}

t.test('another file is parsed, written and reported while one file waits for its re-export comparison', async (t) => {
  const tasks = await archive(3);
  const [slow, ...others] = tasks;
  const store = slowStore();
  const written = new Set<FileTask>();
  const reported: Array<{ task: FileTask; report: FileReport }> = [];
  const p = new Pipeline({
    workers: 0,
    blockBytes: 16 * 1024,
    sink: {
      async write(_chunk: Uint8Array, task?: FileTask) {
        if (task) written.add(task);
      },
      async close() {},
    },
    planFile: planner((task) => task === slow),
    conflicts: store.source,
    onFile: (report, task) => reported.push({ task, report }),
  });
  t.teardown(() => p.close());
  const run = p.run(tasks);
  const deadline = Date.now() + 30_000;
  while (reported.length < others.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.ok(store.queried.length > 0, 'the first file asked the store for its held points');
  t.same(
    reported.map((r) => r.task),
    others,
    'the files after it were reported while its comparison waited for the store',
  );
  t.ok(
    others.every((o) => written.has(o)),
    'and their lines were written meanwhile',
  );
  store.release();
  const reports = await run;
  t.equal(reported.length, tasks.length, 'the held-up file is reported once its comparison is done');
  t.equal(reported[reported.length - 1].task, slow, 'last');
  t.same(
    reports.map((r) => r.path),
    tasks.map((task) => reported.find((r) => r.task === task)?.report.path),
    "run()'s reports stay in the files' order",
  );
  const held = reports[0];
  t.equal(held.conflicts?.missing, ROWS * CHANNELS, 'every held point of the held-up file was compared');
  t.equal(held.conflicting_points, 0);
  t.equal(held.status, 'ok');
});

t.test("a comparison the store cannot answer fails its file as the store's, and the others go on", async (t) => {
  const tasks = await archive(2);
  const [failing, other] = tasks;
  const source: ConflictSource = {
    async values() {
      throw new Error('connection refused');
    },
    async barrier() {},
  };
  const reported = new Map<FileTask, FileReport>();
  const p = new Pipeline({
    workers: 0,
    planFile: planner((task) => task === failing),
    conflicts: source,
    onFile: (report, task) => reported.set(task, report),
  });
  t.teardown(() => p.close());
  await p.run(tasks);
  t.equal(reported.get(failing)?.status, 'error');
  t.equal(reported.get(failing)?.error?.code, 'PV_ERR_STORE_UNAVAILABLE', 'the store is at fault, not the file');
  t.match(reported.get(failing)?.error?.message, /re-export comparison: connection refused/);
  t.equal(reported.get(other)?.status, 'ok', 'the other file is ingested');
});
