/**
 * A client that stalls exactly at a line boundary for longer than --settle
 * leaves a file that looks complete: the watch takes it and moves it to
 * parsed/. A plain SFTP server still holds the inode open and the client
 * writes the rest into it (now in parsed/). serve looks at the files it took
 * (no upload event) and takes a changed one again: its new points are
 * ingested, those already written are counted as held, and both files are
 * kept (the client's inode in parsed/<name>.tsv, the copy ingested in
 * parsed/<name>.1.tsv). The stores end up with every point once.
 */
import t from 'tap';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  parsedPath,
  serial,
  serveFixtures,
  sha256,
  startServe,
  stopServe,
  waitUntil,
} from '../support/serve-harness.js';
import { checkPoints } from '../support/sftp-helpers.js';
import { servicesSkip } from '../support/services.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

t.test(
  'a file written to after it was taken is taken again: every point once, both files kept',
  { skip: servicesSkip },
  async (t) => {
    const fx = await serveFixtures(t, {
      db: 'retake',
      label: 'retake',
      devices: [{ masterSn: serial(1), files: 1, rows: 1200, overlap: 0, seed: 41 }],
      staged: true,
    });
    const { db, tenant, root, stateDir } = fx;
    const [file] = fx.inRoot;
    const expected = await fx.expected();
    mkdirSync(dirname(file), { recursive: true });
    const bytes = readFileSync(fx.files[0]);
    // the first third, up to a line's end: the file looks complete (rows whole, no END_DATA yet)
    const cut = bytes.indexOf(10, Math.floor(bytes.length / 3)) + 1;
    const serve = await startServe(t, db.env, { root, stateDir, settle: 1, rescan: 1 });

    const fd = openSync(file, 'w');
    let closed = false;
    t.teardown(() => {
      if (!closed) closeSync(fd);
    });
    writeSync(fd, bytes, 0, cut);
    t.ok(await waitUntil(() => existsSync(parsedPath(file)), 30_000), 'the first part was taken and moved to parsed/');
    t.ok(await waitUntil(() => serve.logs().some((l) => l.event === 'file'), 30_000), 'and ingested');
    // the client goes on writing into the inode it holds, now in parsed/
    writeSync(fd, bytes, cut, bytes.length - cut);
    closeSync(fd);
    closed = true;
    const copy = join(dirname(file), 'parsed', `${basename(file, '.tsv')}.1.tsv`);
    t.ok(
      await waitUntil(() => existsSync(copy) && serve.logs().filter((l) => l.event === 'file').length >= 2, 30_000),
      'the new version was taken again, into parsed/<name>.1.tsv',
    );
    const ingests = serve.logs().filter((l) => l.event === 'file');
    t.same(
      ingests.map((l) => l.status),
      ['ok', 'ok'],
      'two ingests, both ok',
    );
    t.ok(
      serve.logs().some((l) => l.event === 'changed_after_take'),
      'the change is logged',
    );
    t.same(
      readdirSync(join(dirname(file), 'parsed')).sort(),
      [basename(file), basename(copy)].sort(),
      "parsed/ holds the client's file and the copy taken again",
    );
    t.ok(readFileSync(parsedPath(file)).equals(bytes), "the client's file in parsed/ holds every byte it wrote");
    t.ok(readFileSync(copy).equals(bytes), 'the copy ingested holds the whole new version');
    t.notOk(existsSync(file), 'nothing left in place');
    t.notOk(existsSync(join(dirname(file), 'error')), 'nothing in error/');
    const ledger = await db.pool.query<{ status: string; sha256: string }>(
      'SELECT status, sha256 FROM core.files WHERE tenant = $1 ORDER BY 2',
      [tenant],
    );
    t.same(
      ledger.rows.map((r) => `${r.status} ${r.sha256}`),
      [sha256(bytes.subarray(0, cut)), sha256(bytes)].sort().map((s) => `ok ${s}`),
      'the ledger: both byte versions, the first part and the whole file',
    );
    await checkPoints(t, db, tenant, expected);
    await stopServe(t, serve);
  },
);
