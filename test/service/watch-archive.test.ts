/**
 * The watch scales with the archive (docs/operations.md, memory bounds):
 * `serve` watches the root, company, campaign and device folders only, never
 * parsed/ or error/, so the inotify watches of the process stay one per
 * folder however many files the archive holds, and a file that appears in
 * parsed/ or error/ (a hand-made copy, a restore) is never taken, by the watch
 * or by the periodic rescan.
 */
import t from 'tap';
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { servicesSkip } from '../support/services.js';
import {
  promValue,
  serial,
  serveSetup,
  startServe,
  waitParsed,
  waitUntil,
  writeDeviceFiles,
} from '../support/serve-harness.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

/** inotify watches the process holds (one per `fs.watch` of a folder), from /proc/<pid>/fdinfo */
function inotifyWatches(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:inotify') continue;
      n += readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('inotify wd:')).length;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

/** `count` archived files in `folder`, hard links to `source` under names of their own */
function archive(folder: string, source: string, from: number, count: number): void {
  mkdirSync(folder, { recursive: true });
  for (let i = from; i < from + count; i++)
    linkSync(source, join(folder, `MV2_archived_${String(i).padStart(6, '0')}.tsv`));
}

t.test(
  'the watch never looks into parsed/ or error/: its watches do not grow with the archive, files there are never taken',
  { skip: servicesSkip || (process.platform !== 'linux' && 'inotify counts: Linux only') },
  async (t) => {
    const { db, tenant, base, root } = await serveSetup(t, 'wscale', 'wscale');
    const stage = join(base, 'stage');
    // three real files of one device: one uploaded as usual, one dropped into parsed/, one into error/
    const [upload, intoParsed, intoError] = writeDeviceFiles(stage, tenant, 'camp', {
      masterSn: serial(1),
      files: 3,
      rows: 60,
      overlap: 0,
      seed: 5,
    });
    const device = join(root, tenant, 'camp', serial(1));
    archive(join(device, 'parsed'), intoParsed, 0, 300);
    archive(join(device, 'error'), intoError, 0, 50);

    const serve = await startServe(t, db.env, { root, stateDir: join(base, 'state'), settle: 0.5, rescan: 1 });
    const pid = serve.child.pid!;
    // root, company, campaign, device
    t.ok(await waitUntil(() => inotifyWatches(pid) >= 4, 60_000, 100), 'the watch is armed');
    t.equal(
      inotifyWatches(pid),
      4,
      'one watch per folder down to the device, none in parsed/ or error/ (350 archived files)',
    );

    // the archive grows, and files appear in parsed/ and error/ by a rename, as an upload would appear
    archive(join(device, 'parsed'), intoParsed, 300, 700);
    archive(join(device, 'error'), intoError, 50, 250);
    const inParsed = join(device, 'parsed', basename(intoParsed));
    const inError = join(device, 'error', basename(intoError));
    renameSync(intoParsed, inParsed);
    renameSync(intoError, inError);
    // an ordinary file found by the watch: proof that the watch works while it ignores the others
    const live = join(device, basename(upload));
    copyFileSync(upload, join(device, `.sftpgo-upload.1.${basename(upload)}`));
    renameSync(join(device, `.sftpgo-upload.1.${basename(upload)}`), live);
    t.ok(await waitParsed([live], 60_000), 'a file in the device folder is found by the watch and ingested');
    // several periodic rescans (every second) walk the root meanwhile
    await sleep(4000);

    t.equal(inotifyWatches(pid), 4, 'still one watch per folder with 1,300 archived files');
    const files = serve.logs().filter((l) => l.event === 'file' || l.event === 'settled');
    t.same(
      files.filter((l) => /\/(parsed|error)\//.test(String(l.path))).map((l) => l.path),
      [],
      'nothing in parsed/ or error/ was looked at as an upload',
    );
    t.same(
      files.filter((l) => l.event === 'file').map((l) => basename(String(l.path))),
      [basename(upload)],
      'only the uploaded file was ingested',
    );
    t.ok(existsSync(inParsed), 'the file dropped into parsed/ stays there');
    t.ok(existsSync(inError), 'the file dropped into error/ stays there, not moved to parsed/');
    t.equal(
      readdirSync(join(device, 'parsed')).length,
      1000 + 2,
      'parsed/ holds the archive, the dropped file and the ingested one, no renamed copy',
    );
    t.equal(
      readdirSync(join(device, 'error')).length,
      300 + 1,
      'error/ holds the archive and the dropped file, no sidecar',
    );
    const ledger = await db.pool.query<{ path: string }>('SELECT path FROM core.files WHERE tenant = $1', [tenant]);
    t.same(
      ledger.rows.map((r) => basename(r.path)),
      [basename(upload)],
      'one ledger row: the uploaded file',
    );
    const m = await serve.metrics();
    t.equal(promValue(m, 'powerview_files_total', { tenant }), 1, 'one file processed');
    serve.child.kill('SIGTERM');
    t.equal((await serve.exited).code, 0, 'serve stops cleanly');
  },
);
