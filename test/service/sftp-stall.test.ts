/**
 * A plain OpenSSH SFTP server has no hooks: serve finds uploads with its
 * watch. A real `sftp` client that stalls longer than --settle mid-upload
 * (its stream held by test/support/sftp-stall-proxy.ts after two thirds of the file)
 * leaves a file cut mid-line: it is not complete, so it is not taken until
 * the upload ends; then the whole file is ingested once.
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
  'an SFTP upload that stalls longer than --settle mid-line is ingested whole, once',
  { skip: sftpSkip },
  async (t) => {
    const { db, tenant, base, root } = await serveSetup(t, 'sftpstall', 'sftpstall');
    const stage = join(base, 'stage');
    // a fixture whose 32 KiB write boundaries all fall mid-line: wherever the stall cuts it, it is cut mid-line
    let staged: string[] = [];
    for (let seed = 21; seed < 60; seed++) {
      staged = writeDeviceFiles(stage, tenant, 'camp', {
        masterSn: serial(1),
        files: 1,
        rows: 30000,
        overlap: 0,
        seed,
      });
      if (cutsMidLine(readFileSync(staged[0]))) break;
    }
    t.ok(cutsMidLine(readFileSync(staged[0])), 'fixture: every write boundary (32 KiB, 255 KiB) falls mid-line');
    const expected = await expectedOf(stage, staged);
    const [file] = staged.map((p) => rebase(stage, root, p));
    mkdirSync(dirname(file), { recursive: true });
    const serve = await startServe(t, db.env, { root, stateDir: join(base, 'state'), settle: 1, rescan: 1 });

    const size = statSync(staged[0]).size;
    // held after two thirds of the file (1.5 MB), for six times --settle once the upload began: sftp-server
    // holds back the requests it has not yet processed (about 200 KB), so a part of the file is on disk meanwhile
    const release = join(base, 'release');
    const upload = runSftp(t, base, 'put', [`put ${staged[0]} ${file}`], {
      afterBytes: Math.floor((size * 2) / 3),
      holdMs: release,
    });
    let early = false;
    const spy = setInterval(
      () => (early ||= existsSync(join(dirname(file), 'parsed')) || existsSync(join(dirname(file), 'error'))),
      100,
    );
    t.ok(await waitUntil(() => early || existsSync(file), 30_000), 'the upload began');
    await new Promise((r) => setTimeout(r, 6000));
    // what the stall left on disk: a part of the file, cut mid-line (the case the newline rule is for)
    const partial = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
    t.ok(
      partial.length > 0 && partial.length < size,
      `a part of the file is on disk during the stall (${partial.length} of ${size} bytes)`,
    );
    t.not(partial.at(-1), 10, 'the part on disk ends mid-line');
    writeFileSync(release, '');
    const r = await upload;
    clearInterval(spy);
    t.equal(r.code, 0, `sftp put succeeded${r.code ? `: ${r.stderr}` : ''}`);
    t.notOk(early, 'nothing taken while the client stalled');
    t.ok(await waitParsed([file], 30_000), 'ingested once complete');
    await checkStores(t, db, tenant, [file], expected);
    const files = serve.logs().filter((l) => l.event === 'file');
    t.same(
      files.map((l) => [l.status, l.rows]),
      [['ok', 30000]],
      'one ingest, every row',
    );
    serve.child.kill('SIGTERM');
    t.equal((await serve.exited).code, 0);
  },
);
