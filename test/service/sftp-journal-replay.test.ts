/**
 * After a crash, the journal may still hold upload events whose files were
 * done long ago; a new upload (a plain SFTP server, no hooks) may be writing
 * the same name when serve starts again. A replayed event is authoritative
 * only for the file it announced (its size, inode and mtime): a file that
 * differs goes through the watch's settle rule, so the new upload is never
 * taken half-written. Once the files are done the journal is compacted
 * (not only when a new hook arrives or on a clean stop).
 */
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  checkStores,
  expectedOf,
  rebase,
  serial,
  serveSetup,
  startServe,
  waitParsed,
  waitUntil,
  writeDeviceFiles,
} from '../support/serve-harness.js';
import { cutsMidLine, runSftp, sftpSkip } from '../support/sftp-helpers.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

t.test(
  'stale journal events replayed while a new upload is written never take it half-written',
  { skip: sftpSkip },
  async (t) => {
    const { db, tenant, base, root } = await serveSetup(t, 'sftpreplay', 'sftpreplay');
    const stage = join(base, 'stage');
    const pick = (n: number, first: number): string[] => {
      let out: string[] = [];
      for (let seed = first; seed < first + 40; seed++) {
        out = writeDeviceFiles(stage, tenant, 'camp', { masterSn: serial(n), files: 1, rows: 2500, overlap: 0, seed });
        if (cutsMidLine(readFileSync(out[0]))) break;
      }
      return out;
    };
    const staged = [...pick(1, 51), ...pick(2, 91)];
    t.ok(
      staged.every((p) => cutsMidLine(readFileSync(p))),
      'fixtures: every 32 KiB boundary falls mid-line',
    );
    const expected = await expectedOf(stage, staged);
    const files = staged.map((p) => rebase(stage, root, p));
    for (const f of files) mkdirSync(dirname(f), { recursive: true });
    // what a crashed serve left: events for these names, from an upload long done (one of the format before
    // events recorded what they announced, one announcing another inode and size)
    const stateDir = join(base, 'state');
    mkdirSync(stateDir, { recursive: true });
    const journal = join(stateDir, 'events.jsonl');
    const old = Date.now() - 3_600_000;
    writeFileSync(
      journal,
      `${JSON.stringify({ kind: 'upload', path: files[0], at: old })}\n${JSON.stringify({ kind: 'upload', path: files[1], at: old, size: 4242, ino: 1, mtimeMs: old })}\n`,
    );

    // the new uploads, each held after a third until the test releases them (serve started, several settles passed)
    const release = join(base, 'release');
    const uploads = staged.map((p, i) =>
      runSftp(t, base, `put${i}`, [`put ${p} ${files[i]}`], {
        afterBytes: Math.floor(statSync(p).size / 3),
        holdMs: release,
      }),
    );
    t.ok(
      await waitUntil(() => files.every((f) => existsSync(f)), 120_000),
      'the uploads began (each stalled until released)',
    );
    let finished = 0;
    for (const u of uploads) void u.then(() => finished++);
    const serve = await startServe(t, db.env, { root, stateDir, settle: 1, rescan: 1 });
    t.equal(finished, 0, 'serve replayed the journal while the uploads were still stalled');
    let early = false;
    const spy = setInterval(
      () =>
        (early ||= files.some((f) => existsSync(join(dirname(f), 'parsed')) || existsSync(join(dirname(f), 'error')))),
      100,
    );
    // the replay and five settle periods while the uploads are stalled mid-line
    await waitUntil(() => serve.logs().some((l) => l.event === 'serve_start'), 30_000);
    await new Promise((r) => setTimeout(r, 5000));
    writeFileSync(release, '');
    const results = await Promise.all(uploads);
    clearInterval(spy);
    t.same(
      results.map((r) => r.code),
      [0, 0],
      'both sftp puts succeeded',
    );
    t.notOk(early, 'nothing taken while the uploads were stalled');
    t.ok(await waitParsed(files, 30_000), 'both ingested once complete');
    await checkStores(t, db, tenant, files, expected);
    const ingests = serve.logs().filter((l) => l.event === 'file');
    t.same(
      ingests.map((l) => [l.status, l.rows]),
      [
        ['ok', 2500],
        ['ok', 2500],
      ],
      'one ingest per file, every row',
    );
    t.ok(
      serve.logs().some((l) => l.event === 'journal_replay' && l.changed === 2),
      'both replayed events went through the settle rule',
    );
    // done: the journal no longer holds them, with no new hook and no stop
    const events = () => readFileSync(journal, 'utf8').split('\n').filter(Boolean);
    t.ok(await waitUntil(() => events().length === 0, 30_000), 'the journal is compacted once its files are done');
    serve.child.kill('SIGTERM');
    t.equal((await serve.exited).code, 0);
  },
);
