/**
 * `serve` killed (SIGKILL) in the middle of its work,
 * several times, then restarted → nothing lost, nothing doubled. Every file
 * is announced once, by hook, to the first process; the restarts watch with
 * a settle of an hour, so what they ingest comes from the journal the first
 * process fsynced before answering 200.
 */
import t from 'tap';
import { existsSync, linkSync, readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { servicesSkip } from '../support/services.js';
import {
  notParsed,
  parsedPath,
  serial,
  serveFixtures,
  startServe,
  stopServe,
  uploadEvent,
  waitParsed,
  waitUntil,
} from '../support/serve-harness.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(900_000);

t.test('SIGKILL mid-work, restart, again and again: every file once', { skip: servicesSkip }, async (t) => {
  // 4 devices × 6 files of 1500 rows × 8 channels, each overlapping the previous by 300 rows
  const device = (d: number) => ({ files: 6, rows: 1500, overlap: 300, channels: 8, seed: 70 + d });
  const fx = await serveFixtures(t, { db: 'kill', label: 'kill', devices: [0, 1, 2, 3].map(device) });
  const { db, root, stateDir, files } = fx;
  let serve = await startServe(t, db.env, { root, stateDir, settle: 3600, rescan: 3600, workers: 1 });
  const replies = await Promise.all(files.map((f) => serve.hook(uploadEvent(root, f))));
  t.same([...new Set(replies.map((r) => r.status))], [200], 'every upload queued');

  const parsedCount = () => files.length - notParsed(files).length;
  const midWork: number[] = [];
  for (let round = 0; round < 4 && parsedCount() < files.length; round++) {
    // once this process has finished one to three more files, at a random moment: mid-file, mid-commit, mid-move
    const target = Math.min(files.length - 1, parsedCount() + 1 + Math.floor(Math.random() * 3));
    await waitUntil(() => parsedCount() >= target || serve.child.exitCode !== null, 60_000, 10);
    await sleep(Math.floor(Math.random() * 150));
    serve.child.kill('SIGKILL');
    const exit = await serve.exited;
    t.equal(exit.signal, 'SIGKILL', `round ${round + 1}: killed`);
    if (exit.signal !== 'SIGKILL') t.comment(`it had exited by itself (${exit.code}):\n${serve.stderr().slice(-3000)}`);
    const done = parsedCount();
    if (done < files.length) midWork.push(done);
    t.comment(`round ${round + 1}: killed with ${done}/${files.length} files done`);
    serve = await startServe(t, db.env, { root, stateDir, settle: 3600, rescan: 3600, workers: 1 });
  }
  t.ok(midWork.length >= 3, `killed mid-work ${midWork.length} times (files done then: ${midWork.join(', ')})`);
  const rest = await waitParsed(files, 90_000);
  t.ok(rest, 'the last process ingests what was left, from the journal');
  if (!rest) t.comment(`left: ${notParsed(files).join(' ')}\n${serve.stderr().slice(-3000)}`);
  await fx.check(files);
  await stopServe(t, serve, 'the last process stops with 0');
});

t.test(
  'killed between the two halves of a move (the file both in place and in parsed/): one copy in the end',
  { skip: servicesSkip },
  async (t) => {
    // moveFinished() links the file into parsed/, then unlinks it from the device folder: a crash in between
    // leaves the same file in both. Restarted, the service finds the bytes already in the ledger (noop) and
    // moves the file again: it must not end as a second copy, parsed/<name>.1.tsv.
    const fx = await serveFixtures(t, {
      db: 'killmove',
      label: 'kmove',
      devices: [{ masterSn: serial(1), files: 2, rows: 300, overlap: 100, seed: 3 }],
    });
    const { db, root, stateDir, files } = fx;
    let serve = await startServe(t, db.env, { root, stateDir, settle: 3600, rescan: 3600 });
    for (const f of files) t.equal((await serve.hook(uploadEvent(root, f))).status, 200);
    t.ok(await waitParsed(files, 30_000), 'ingested');
    serve.child.kill('SIGKILL');
    await serve.exited;
    // the state a SIGKILL between link() and unlink() leaves
    linkSync(parsedPath(files[1]), files[1]);
    serve = await startServe(t, db.env, { root, stateDir, settle: 0.5, rescan: 1 });
    await waitUntil(() => !existsSync(files[1]), 20_000);
    await sleep(500);
    t.same(
      readdirSync(dirname(parsedPath(files[1]))).sort(),
      files.map((f) => basename(f)).sort(),
      'parsed/ holds each file once',
    );
    await fx.check(files);
    await stopServe(t, serve);
  },
);
