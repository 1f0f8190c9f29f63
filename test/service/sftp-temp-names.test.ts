/**
 * SFTP clients often upload under a temporary name and rename it when done
 * (`*.part`, `*.filepart`, `*.tmp`). With no hooks the watch sees the
 * temporary first: it must never take it (only `*.tsv`, any case, is ever
 * taken), so the client's rename succeeds and the final name is ingested.
 * Any other file in a device folder (notes.txt) is left where it is.
 */
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { serial, startServeCase } from '../support/serve-harness.js';
import { runSftp, sftpSkip } from '../support/sftp-helpers.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

t.test(
  'uploads under a temporary name are ingested under their final name; other files stay put',
  { skip: sftpSkip },
  async (t) => {
    // the files reach the root by sftp, from the stage, under a temporary name first
    const c = await startServeCase(t, {
      db: 'sftptemp',
      label: 'sftptemp',
      devices: [{ masterSn: serial(1), files: 3, rows: 400, overlap: 50, seed: 31 }],
      staged: true,
      serve: { settle: 1, rescan: 1 },
    });
    const { base, serve, files: staged, inRoot: files } = c;
    const device = dirname(files[0]);
    mkdirSync(device, { recursive: true });
    const notesLocal = join(base, 'notes.txt');
    writeFileSync(notesLocal, 'site visit 2025-06-01: CT on phase 2 replaced\n');

    // each temporary sits complete (ending with a newline) for 4 s, four times --settle, before the rename
    const temps = ['part', 'filepart', 'tmp'];
    const commands = staged.flatMap((p, i) => {
      const final = files[i];
      const temp = i === 2 ? `${final.slice(0, -4)}.TMP` : `${final}.${temps[i]}`;
      return [`put ${p} ${temp}`, '!sleep 4', `rename ${temp} ${final}`];
    });
    // other files first: whatever happens to the temporaries, these are in place from the start
    commands.unshift(
      `put ${notesLocal} ${join(device, 'notes.txt')}`,
      `put ${notesLocal} ${join(device, 'README.TSV.part')}`,
    );
    const r = await runSftp(t, base, 'temp-names', commands);
    t.equal(
      r.code,
      0,
      `every put and rename of the sftp batch succeeded${r.code ? `: ${r.stdout.slice(-500)} ${r.stderr.slice(-500)}` : ''}`,
    );
    await c.ingested(files, 30_000, 'the three files ingested under their final names');
    // a rescan or two more: the other files are still left alone
    await new Promise((res) => setTimeout(res, 3000));
    t.ok(existsSync(join(device, 'notes.txt')), 'notes.txt is left where it is');
    t.equal(readFileSync(join(device, 'notes.txt'), 'utf8'), readFileSync(notesLocal, 'utf8'), 'untouched');
    t.ok(existsSync(join(device, 'README.TSV.part')), 'an unfinished temporary is left where it is');
    await c.check(files);
    const ingested = serve
      .logs()
      .filter((l) => l.event === 'file')
      .map((l) => basename(String(l.path)));
    t.same(ingested.sort(), files.map((f) => basename(f)).sort(), 'only the final names were ingested, each once');
    await c.stop();
  },
);
