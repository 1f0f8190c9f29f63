/**
 * The scheduler's bookkeeping without a service: its depth follows files as
 * they are added, handed over and done (kept by counters, not a scan), and
 * the check before a file is handed on refuses what is gone or reached
 * through a symlink, whatever was checked when it was queued.
 */
import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '../../src/errors.js';
import type { FileTask } from '../../src/pipeline/pipeline.js';
import { emptyFileReport } from '../../src/pipeline/report.js';
import { Scheduler } from '../../src/service/scheduler.js';
import { checkTake } from '../../src/service/take-check.js';

function tempRoot(t: Test): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'pv-sched-')));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function file(root: string, device: string, name: string): string {
  const dir = join(root, 'acme', 'camp', device);
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, 'x\n');
  return p;
}

const heldClaims = () => {
  const held = new Set<string>();
  return {
    tryClaim: async (f: string) => (held.add(f), true),
    release: async (f: string) => void held.delete(f),
    isHeld: (f: string) => held.has(f),
  };
};

const okReport = (task: FileTask) => ({
  ...emptyFileReport(task.path, task.identity),
  status: 'ok' as const,
  moved_to: `${task.path}.done`,
});

t.test('depth counts pending and in-flight files as they move, across devices', async (t) => {
  const root = tempRoot(t);
  const s = new Scheduler(root, heldClaims());
  const paths = [
    file(root, 'd1', 'MV2_1_20250101_000000.tsv'),
    file(root, 'd1', 'MV2_1_20250102_000000.tsv'),
    file(root, 'd2', 'MV2_2_20250101_000000.tsv'),
  ];
  for (const p of paths) t.ok(s.add(p, Date.now()), `${p} queued`);
  t.notOk(s.add(paths[0], Date.now()), 'a duplicate is not queued twice');
  t.same(s.depth, { pending: 3, inFlight: 0 }, 'three pending');
  const it = s[Symbol.asyncIterator]();
  const first = await it.next();
  t.notOk(first.done);
  t.same(s.depth, { pending: 2, inFlight: 1 }, 'one handed over');
  const second = await it.next();
  t.same(s.depth, { pending: 1, inFlight: 2 }, 'two handed over');
  s.done(okReport(first.value as FileTask), first.value as FileTask);
  t.same(s.depth, { pending: 1, inFlight: 1 }, 'one done');
  s.done(okReport(second.value as FileTask), second.value as FileTask);
  const third = await it.next();
  s.done(okReport(third.value as FileTask), third.value as FileTask);
  t.same(s.depth, { pending: 0, inFlight: 0 }, 'all done: nothing left');
  t.same(s.unfinished(), [], 'nothing for the journal');
  s.stop();
});

t.test('a file left in place goes back to pending; one gone before its turn leaves the depth', async (t) => {
  const root = tempRoot(t);
  const s = new Scheduler(root, heldClaims());
  const kept = file(root, 'd1', 'MV2_1_20250101_000000.tsv');
  const gone = file(root, 'd2', 'MV2_2_20250101_000000.tsv');
  s.add(kept, Date.now());
  const it = s[Symbol.asyncIterator]();
  const task = (await it.next()).value as FileTask;
  const left = { ...emptyFileReport(task.path, task.identity), status: 'error' as const, moved_to: null };
  left.error = { code: ErrorCodes.STORE_UNAVAILABLE, message: 'InfluxDB down' };
  s.done(left, task);
  t.same(s.depth, { pending: 1, inFlight: 0 }, 'left in place: pending again');
  rmSync(gone);
  s.add(gone, Date.now());
  t.same(s.depth, { pending: 2, inFlight: 0 }, 'both pending');
  // the gone file is dropped at its turn; the one left in place comes back after its backoff (an unref'd timer:
  // this one keeps the test process alive meanwhile)
  const alive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(alive));
  const again = (await it.next()).value as FileTask;
  t.equal(again.path, kept, 'the file left in place is handed over again');
  t.same(s.depth, { pending: 0, inFlight: 1 }, 'the gone file left the depth');
  s.stop();
});

t.test('the take check: a regular file passes; gone, symlinked or outside files do not', async (t) => {
  const root = tempRoot(t);
  const outside = tempRoot(t);
  const plain = file(root, 'd1', 'a.tsv');
  const r = checkTake(root, plain);
  t.ok(r.ok, 'a regular file under real folders passes');
  if (r.ok) t.equal(r.st.size, 2, 'with its size');
  t.same(checkTake(root, join(root, 'acme', 'camp', 'd1', 'missing.tsv')), { ok: false, why: 'gone' });
  const target = file(outside, 'd9', 'b.tsv');
  const fileLink = join(root, 'acme', 'camp', 'd1', 'link.tsv');
  symlinkSync(target, fileLink);
  t.same(checkTake(root, fileLink), { ok: false, why: 'symlink' }, 'the file is a symlink');
  // a device folder swapped for a symlink after the file was queued
  const swapped = file(root, 'd2', 'c.tsv');
  renameSync(join(root, 'acme', 'camp', 'd2'), join(root, 'acme', 'camp', 'd2-old'));
  mkdirSync(join(outside, 'acme', 'camp', 'd2'), { recursive: true });
  writeFileSync(join(outside, 'acme', 'camp', 'd2', 'c.tsv'), 'y\n');
  symlinkSync(join(outside, 'acme', 'camp', 'd2'), join(root, 'acme', 'camp', 'd2'));
  t.same(checkTake(root, swapped), { ok: false, why: 'symlink' }, 'a folder of its path is a symlink');
  t.same(checkTake(root, target), { ok: false, why: 'outside' }, 'a path outside the root');
  mkdirSync(join(root, 'acme', 'camp', 'd3', 'dir.tsv'), { recursive: true });
  t.same(checkTake(root, join(root, 'acme', 'camp', 'd3', 'dir.tsv')), { ok: false, why: 'gone' }, 'a folder');
});
