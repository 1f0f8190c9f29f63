/**
 * The same bytes twice in one ingest run (a file and its copy under another
 * name): the second is a no-op whose message says what happened — never
 * "committed by another process", since no other process was there.
 */
import t from 'tap';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { generateArchive } from '../../fixtures/generate.js';
import { ingestArgs } from '../support/cli-helpers.js';
import { runCli, servicesSkip } from '../support/services.js';
import { serveDb } from '../support/serve-harness.js';

t.setTimeout(600_000);

t.test(
  'the same bytes twice in one run: the message says so, not "another process"',
  { skip: servicesSkip },
  async (t) => {
    const db = await serveDb(t, 'twice');
    const env = db.env;
    const company = `twice_${process.pid}`;
    db.tenants.push(company);
    const root = mkdtempSync(join(tmpdir(), 'pv-twice-'));
    const a = await generateArchive({
      out: root,
      company,
      campaign: 'c',
      devices: 1,
      files: 1,
      rows: 200,
      channels: 6,
      slaves: 0,
      format: 'v003',
      step: 600,
      start: Date.UTC(2025, 4, 1) / 1000,
      defects: [],
      seed: 11,
    });
    for (const name of ['copy1.tsv', 'copy2.tsv', 'copy3.tsv']) cpSync(a.files[0], join(dirname(a.files[0]), name));
    const r = await runCli(ingestArgs(root, '--report-dir', join(root, 'r'), root), env);
    t.equal(r.code, 0, r.stderr.slice(-500));
    const files = JSON.parse(r.stdout).files as Array<{
      path: string;
      points: number;
      ledger: { noop: string | null };
      warnings: string[];
    }>;
    t.equal(files.length, 4);
    t.equal(files.filter((f) => f.ledger.noop === null).length, 1, 'one copy committed');
    const committed = files.find((f) => f.ledger.noop === null)!;
    const noops = files.filter((f) => f.ledger.noop !== null);
    t.equal(noops.length, 3, 'the other copies are no-ops');
    for (const f of noops) {
      t.notMatch(f.ledger.noop!, /another process/, `${f.path}: "${f.ledger.noop}"`);
      t.match(f.ledger.noop!, /same bytes/);
      // the earlier file by its path, not only its ledger id
      t.ok(f.ledger.noop!.includes(basename(committed.path)), `names the committed ${basename(committed.path)}`);
    }

    // a later run over the moved files: every copy is a no-op naming the file of the ledger by its id and its path
    const again = await runCli(
      [
        'ingest',
        '--json',
        '--include-processed',
        '--meta-db',
        '',
        '--root',
        root,
        '--report-dir',
        join(root, 'r2'),
        root,
      ],
      env,
    );
    t.equal(again.code, 0, again.stderr.slice(-500));
    const later = (JSON.parse(again.stdout) as { files: typeof files }).files;
    t.equal(later.length, 4);
    for (const f of later) {
      t.match(f.ledger.noop ?? '', /^the same bytes were ingested before \(file \d+: /, `${basename(f.path)}: no-op`);
      t.ok((f.ledger.noop ?? '').includes(basename(committed.path)), `names the earlier ${basename(committed.path)}`);
    }
  },
);
