/**
 * Two `serve` processes on one data root and one
 * database → every file ingested once. Files arrive in waves: some dropped
 * into the root with no event (both instances find them by watch and rescan),
 * the others announced by a hook sent to both instances at once.
 */
import t from 'tap';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { servicesSkip } from '../support/services.js';
import {
  deliver,
  promValue,
  serial,
  serveFixtures,
  startServe,
  tempDir,
  uploadEvent,
  waitParsed,
  writeDeviceFiles,
} from '../support/serve-harness.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

t.test('two instances, one root, one database: every file once', { skip: servicesSkip }, async (t) => {
  // 8 devices × 6 files, overlapping re-exports
  const device = (d: number) => ({ files: 6, rows: 200, overlap: 60, seed: 40 + d });
  const fx = await serveFixtures(t, {
    db: 'two',
    label: 'two',
    devices: [0, 1, 2, 3, 4, 5, 6, 7].map(device),
    staged: true,
  });
  const { db, tenant, base, root, stage, perDevice: staged } = fx;
  const options = { root, settle: 0.5, rescan: 1, workers: 1 };
  const [a, b] = await Promise.all([
    startServe(t, db.env, { ...options, stateDir: join(base, 'state-a') }),
    startServe(t, db.env, { ...options, stateDir: join(base, 'state-b') }),
  ]);
  const files: string[] = [];
  const replies: number[] = [];
  // six waves: in each, every device gets one more file; even devices by hook to both, odd ones silently
  for (let wave = 0; wave < 6; wave++) {
    for (let d = 0; d < 8; d++) {
      const [f] = deliver(stage, root, [staged[d][wave]]);
      files.push(f);
      if (d % 2 === 0) {
        const ev = uploadEvent(root, f);
        const r = await Promise.all([a.hook(ev), b.hook(ev)]);
        replies.push(...r.map((x) => x.status));
      }
    }
    await sleep(300);
  }
  t.same([...new Set(replies)], [200], `${replies.length} hook calls answered 200`);
  t.ok(await waitParsed(files, 60_000), 'every file ingested within 60 s');
  await sleep(1500); // a rescan or two more: nothing is taken again
  const expected = await fx.expected(files);
  await fx.check(files, expected);
  const [ma, mb] = await Promise.all([a.metrics(), b.metrics()]);
  const okA = promValue(ma, 'powerview_files_total', { tenant, outcome: 'ok' });
  const okB = promValue(mb, 'powerview_files_total', { tenant, outcome: 'ok' });
  t.comment(`instance A ingested ${okA} files, instance B ${okB}`);
  t.equal(okA + okB, files.length, 'the two instances together: each file ok once');
  t.equal(
    promValue(ma, 'powerview_files_total', { tenant, outcome: 'noop' }) +
      promValue(mb, 'powerview_files_total', { tenant, outcome: 'noop' }),
    0,
    'no file taken twice (noop)',
  );
  t.equal(
    promValue(ma, 'powerview_files_total', { tenant, outcome: 'error' }) +
      promValue(mb, 'powerview_files_total', { tenant, outcome: 'error' }),
    0,
    'no file failed',
  );
  t.equal(
    promValue(ma, 'powerview_points_written_total', { tenant }) +
      promValue(mb, 'powerview_points_written_total', { tenant }),
    expected.points.size,
    'points written by both together = the distinct points',
  );
  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  t.same([(await a.exited).code, (await b.exited).code], [0, 0], 'both stop with 0');
});

t.test(
  'the scheduler keeps a device claimed while its next file is being looked at (no window for another instance)',
  async (t) => {
    // the race behind a file ingested by both instances (one ok, the other noop): between taking a file off
    // `pending` and adding it to `inFlight`, the scheduler awaits stat(); a file of the same device finishing
    // meanwhile saw the device empty and released its claim, so another instance could take the same file.
    const { Scheduler } = await import('../../src/service/scheduler.js');
    const { realpathSync } = await import('node:fs');
    const root = join(realpathSync(tempDir(t, 'sched2')), 'root');
    const [f1, f2] = writeDeviceFiles(root, 'acme', 'camp', { masterSn: serial(1), files: 2, rows: 10, overlap: 0 });
    const held = new Set<string>();
    const released: string[] = [];
    const claims = {
      tryClaim: async (f: string) => (held.add(f), true),
      release: async (f: string) => {
        released.push(f);
        held.delete(f);
      },
      isHeld: (f: string) => held.has(f),
    };
    const s = new Scheduler(root, claims);
    s.add(f1, Date.now());
    s.add(f2, Date.now());
    const it = s[Symbol.asyncIterator]();
    const first = await it.next();
    t.equal(first.value?.path, f1, 'first file out');
    // the pipeline asks for the next file, and at that very moment the first one is done
    const second = it.next();
    s.done({ status: 'ok', moved_to: join(root, 'acme', 'camp', serial(1), 'parsed', 'x.tsv') } as never, first.value);
    const r = await second;
    t.equal(r.value?.path, f2, 'second file out');
    t.same(released, [], 'the claim is not released while a file of the device is still to be processed');
    t.ok(s.knows(f2), 'the file handed over is known (in flight)');
    t.same(
      s.unfinished().map((u) => u.path),
      [f2],
      'and kept by the journal',
    );
    s.stop();
  },
);
