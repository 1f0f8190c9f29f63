/**
 * A re-upload while the file is being processed: SFTPGo's atomic upload renames the new version over the
 * path. The file read must be the file moved (lifecycle.ts takeFile / moveFinished), and the new version
 * must be ingested after it (scheduler: an event for a path in flight is remembered, not dropped).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { moveFinished } from '../../src/pipeline/lifecycle.js';
import { cleanStalePins, releaseTaken, takeFile } from '../../src/pipeline/taken.js';
import { Scheduler } from '../../src/service/scheduler.js';
import type { FileReport } from '../../src/pipeline/report.js';
import { influxGate } from '../support/http-proxy.js';
import { ingestArgs } from '../support/cli-helpers.js';
import { runCli, servicesSkip } from '../support/services.js';
import {
  checkStores,
  expectedOf,
  serial,
  serveSetup,
  startServe,
  uploadEvent,
  waitUntil,
  writeDeviceFiles,
} from '../support/serve-harness.js';

t.setTimeout(600_000);

function deviceDir(): string {
  const base = mkdtempSync(join(tmpdir(), 'pv-reup-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const dir = join(base, 'acme', 'c1', '02001171');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes `text` beside `path` and renames it over the path, as SFTPGo's atomic upload does. */
function renameOver(path: string, text: string | Buffer): void {
  const tmp = join(dirname(path), `.${basename(path)}.sftpgo-upload.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** takeFile, where the folder is writable (always here) */
const take = async (path: string) => (await takeFile(path))!;

const hidden = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('.'));

t.test('the move takes the file that was read, not the version renamed over its path', async (t) => {
  const dir = deviceDir();
  const path = join(dir, 'f.tsv');
  writeFileSync(path, 'version 1\n');
  const taken = await take(path);
  renameOver(path, 'version 2, longer\n');
  const to = await moveFinished(path, 'parsed', undefined, taken);
  t.equal(to, join(dir, 'parsed', 'f.tsv'));
  t.equal(readFileSync(to, 'utf8'), 'version 1\n', 'parsed/ holds the bytes that were read');
  t.equal(readFileSync(path, 'utf8'), 'version 2, longer\n', 'the new version stays at the path, to be ingested');
  t.same(hidden(dir), [], 'no pin left behind');
});

t.test('a taken file not replaced is moved and its path removed', async (t) => {
  const dir = deviceDir();
  const path = join(dir, 'f.tsv');
  writeFileSync(path, 'only version\n');
  const taken = await take(path);
  const to = await moveFinished(path, 'error', { code: 'X', message: 'x' }, taken);
  t.equal(readFileSync(to, 'utf8'), 'only version\n');
  t.ok(existsSync(`${to}.error.json`), 'the cause beside it');
  t.notOk(existsSync(path), 'the path is gone');
  t.same(hidden(dir), [], 'no pin left behind');
});

t.test('a taken file left in place: the pin goes; replaced meanwhile, the bytes read are kept aside', async (t) => {
  const dir = deviceDir();
  const path = join(dir, 'f.tsv');
  writeFileSync(path, 'version 1\n');
  t.equal(await releaseTaken(path, await take(path)), null, 'not replaced: nothing kept aside');
  t.equal(readFileSync(path, 'utf8'), 'version 1\n', 'the file stays');
  t.same(hidden(dir), [], 'no pin left behind');
  const taken = await take(path);
  renameOver(path, 'version 2\n');
  const aside = await releaseTaken(path, taken);
  t.equal(aside, join(dir, 'f.1.tsv'));
  t.equal(readFileSync(aside!, 'utf8'), 'version 1\n', 'the bytes read kept under a free name');
  t.equal(readFileSync(path, 'utf8'), 'version 2\n');
  t.same(hidden(dir), [], 'no pin left behind');
});

t.test('start-up: pins of a dead process go; the only copy of a file gets a visible name', async (t) => {
  const dir = deviceDir();
  const root = dirname(dirname(dirname(dir)));
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  const host = hostname()
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, 40);
  writeFileSync(join(dir, 'kept.tsv'), 'still at its path\n');
  linkSync(join(dir, 'kept.tsv'), join(dir, `.pv-taken.${dead}-${host}.1.kept.tsv`));
  writeFileSync(join(dir, `.pv-taken.${dead}-${host}.2.lost.tsv`), 'replaced at its path\n');
  writeFileSync(join(dir, `.pv-taken.${process.pid}-${host}.3.mine.tsv`), "a live process's\n");
  await cleanStalePins(root);
  t.same(hidden(dir), [`.pv-taken.${process.pid}-${host}.3.mine.tsv`], "only the live process's pin is left");
  t.equal(readFileSync(join(dir, 'kept.tsv'), 'utf8'), 'still at its path\n');
  t.equal(
    readFileSync(join(dir, 'lost.tsv'), 'utf8'),
    'replaced at its path\n',
    'the only copy is kept under its name',
  );
});

t.test(
  'scheduler: an event for a file in flight is remembered; the path is queued again if it holds another file',
  async (t) => {
    const dir = realpathSync(deviceDir());
    const root = dirname(dirname(dirname(dir)));
    const claims = { tryClaim: async () => true, release: async () => {}, isHeld: () => true };
    const s = new Scheduler(root, claims);
    t.teardown(() => s.stop());
    const it = s[Symbol.asyncIterator]();
    const path = join(dir, 'f.tsv');
    writeFileSync(path, 'version 1\n');
    t.ok(s.add(path, Date.now()), 'first upload: new');
    const task = (await it.next()).value!;
    t.equal(task.path, path);
    task.taken = await take(path);
    t.ok(s.add(path, Date.now()), 'the re-upload while it is in flight: not a duplicate');
    t.notOk(s.add(path, Date.now()), 'announced a third time: a duplicate');
    renameOver(path, 'version 2\n');
    const to = await moveFinished(path, 'parsed', undefined, task.taken);
    s.done({ status: 'ok', moved_to: to } as FileReport, task);
    t.same(s.depth, { pending: 1, inFlight: 0 }, 'the new version is pending');
    const next = (await it.next()).value!;
    t.equal(next.path, path, 'and handed over next');
    // the same file announced again while in flight (a duplicate hook), then moved: nothing more
    t.ok(s.add(path, Date.now()));
    next.taken = await take(path);
    s.done({ status: 'ok', moved_to: await moveFinished(path, 'parsed', undefined, next.taken) } as FileReport, next);
    t.same(s.depth, { pending: 0, inFlight: 0 }, 'the path gone: nothing queued again');
  },
);

/**
 * Two versions of one export: `ref/<tenant>/camp/<sn>/A.tsv` (the first 120 rows) and `B.tsv` (200 rows:
 * a longer export, a superset), for the expected points; returns their bytes too.
 */
function twoVersions(ref: string, tenant: string): { a: string; b: string; v1: Buffer; v2: Buffer } {
  const [long] = writeDeviceFiles(ref, tenant, 'camp', {
    masterSn: serial(3),
    files: 1,
    rows: 200,
    overlap: 0,
    seed: 31,
  });
  const v2 = readFileSync(long);
  const lines = v2.toString('utf8').split('\n');
  const v1 = Buffer.from([...lines.slice(0, 6 + 120), 'END_DATA', ''].join('\n'));
  const a = join(dirname(long), 'A.tsv');
  const b = join(dirname(long), 'B.tsv');
  writeFileSync(a, v1);
  renameSync(long, b);
  return { a, b, v1, v2 };
}

t.test(
  'serve: a longer export renamed over a file being ingested → both versions ingested, both kept',
  { skip: servicesSkip },
  async (t) => {
    const { db, tenant, base, root } = await serveSetup(t, 'reupload', 'reup');
    const t0 = Date.now();
    const ref = join(base, 'ref');
    const { a, b, v1, v2 } = twoVersions(ref, tenant);
    const expected = await expectedOf(ref, [a, b]);
    t.ok(expected.duplicateRows >= 120, "the second version brings the first one's rows again");
    const { gate, url } = await influxGate(t, db.env.INFLUX_URL);
    const serve = await startServe(
      t,
      { ...db.env, INFLUX_URL: url },
      { root, stateDir: join(base, 'state'), settle: 3600, rescan: 3600, workers: 1 },
    );

    const dir = join(root, tenant, 'camp', serial(3));
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'MV2_export.tsv');
    renameOver(path, v1);
    const first = await serve.hook(uploadEvent(root, path));
    t.same(first.body, { result: 'queued', duplicate: false }, 'the first upload queued');
    t.ok(await waitUntil(() => gate.writes > 0, 60_000), 'the first version is being written (held at the gate)');

    renameOver(path, v2);
    const again = await serve.hook(uploadEvent(root, path));
    t.same(
      again.body,
      { result: 'queued', duplicate: false },
      'the re-upload during processing is queued, not a duplicate',
    );
    gate.release();

    const parsed = join(dir, 'parsed');
    const names = ['MV2_export.tsv', 'MV2_export.1.tsv'];
    t.ok(
      await waitUntil(() => names.every((n) => existsSync(join(parsed, n))) && !existsSync(path), 90_000),
      'both versions in parsed/',
    );
    t.ok(readFileSync(join(parsed, names[0])).equals(v1), 'parsed/: the first version, byte for byte');
    t.ok(readFileSync(join(parsed, names[1])).equals(v2), 'parsed/: the second version, byte for byte');
    t.same(hidden(dir), [], 'no pin left behind');
    // every point of both versions, in both stores, once; nothing in error/; both in the ledger
    await checkStores(
      t,
      db,
      tenant,
      names.map((n) => join(dir, n)),
      expected,
    );
    serve.child.kill('SIGTERM');
    t.equal((await serve.exited).code, 0, 'SIGTERM: exit 0');
    t.comment(`${((Date.now() - t0) / 1000).toFixed(1)} s once the services were ours`);
  },
);

t.test(
  'ingest: the file replaced while ingest reads it → parsed/ gets what was read, the new version stays',
  { skip: servicesSkip },
  async (t) => {
    const { db, tenant, base, root } = await serveSetup(t, 'reupload_cli', 'reupcli');
    const t0 = Date.now();
    const ref = join(base, 'ref');
    const { a, b, v1, v2 } = twoVersions(ref, tenant);
    const expected = await expectedOf(ref, [a, b]);
    const { gate, url } = await influxGate(t, db.env.INFLUX_URL);
    const dir = join(root, tenant, 'camp', serial(3));
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'MV2_export.tsv');
    writeFileSync(path, v1);
    const args = ingestArgs(root, '--report-dir', join(base, 'r'), '--workers', '1', path);
    const run = runCli(args, { ...db.env, INFLUX_URL: url });
    t.ok(await waitUntil(() => gate.writes > 0, 60_000), 'the file is being written (held at the gate)');
    renameOver(path, v2);
    gate.release();
    const r = await run;
    t.equal(r.code, 0, `ingest exit 0${r.code ? `: ${r.stderr.slice(-1500)}` : ''}`);
    const parsed = join(dir, 'parsed');
    t.ok(readFileSync(join(parsed, 'MV2_export.tsv')).equals(v1), 'parsed/ holds the version that was read');
    t.ok(readFileSync(path).equals(v2), 'the new version is still at the path');
    t.same(hidden(dir), [], 'no pin left behind');
    // the next run takes the new version
    const r2 = await runCli(args, db.env);
    t.equal(r2.code, 0, `second ingest exit 0${r2.code ? `: ${r2.stderr.slice(-1500)}` : ''}`);
    t.ok(readFileSync(join(parsed, 'MV2_export.1.tsv')).equals(v2), 'then parsed/ holds the new version too');
    await checkStores(t, db, tenant, [join(dir, 'MV2_export.tsv'), join(dir, 'MV2_export.1.tsv')], expected);
    t.comment(`${((Date.now() - t0) / 1000).toFixed(1)} s once the services were ours`);
  },
);
