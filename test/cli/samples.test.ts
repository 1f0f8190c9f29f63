/**
 * `powerview ingest` as a process: the real samples of ../shared/samples.
 * Helpers in test/support/cli-helpers.ts.
 */
import t from 'tap';
import { join } from 'node:path';
import { sharedDir, sharedSkip } from '../support/helpers.js';
import { run, tempDir, type Json } from '../support/cli-helpers.js';

t.test('real samples (../shared/samples)', { skip: sharedSkip }, async (t) => {
  const cwd = tempDir(t);
  const r = await run(
    [
      'ingest',
      '--dry-run',
      '--json',
      '--company',
      'company1',
      '--campaign',
      'campaign1',
      '--v002-timezone',
      'UTC',
      join(sharedDir, 'samples'),
    ],
    { cwd },
  );
  t.equal(r.code, 1, 'exit 1: three bad samples');
  const report = JSON.parse(r.stdout);
  t.match(report.totals, { files: 7, files_ok: 4, files_failed: 3 });
  const status = Object.fromEntries(
    report.files.map((f: Json) => [f.path.split('/').at(-1), [f.status, f.error?.code ?? null]]),
  );
  t.same(status, {
    'empty.tsv': ['error', 'PV_ERR_EMPTY_FILE'],
    'header_only.tsv': ['error', 'PV_ERR_NO_VALID_ROW'],
    'unsupported_t202.tsv': ['error', 'PV_ERR_UNKNOWN_FORMAT'],
    'v002_master_4slaves.tsv': ['ok', null],
    'v002_tri_1slave.tsv': ['ok', null],
    'v003_mono.tsv': ['ok', null],
    'v003_tri_1slave.tsv': ['ok', null],
  });
  t.ok(
    report.files.every((f: Json) => f.tenant === 'company1' && f.campaign === 'campaign1'),
    'identity from the flags',
  );
  t.ok(
    report.files.every((f: Json) => !f.error || !/\n/.test(f.error.message)),
    'one-line causes',
  );
  t.equal(report.v002_timezone, 'UTC');
  t.equal(
    report.totals.points,
    report.files.reduce((s: number, f: Json) => s + f.points, 0),
  );
  t.ok(report.totals.points > 0);
});

t.test(
  'real samples outside the layout with --company/--campaign: no device guessed from the folder',
  { skip: sharedSkip },
  async (t) => {
    const cwd = tempDir(t);
    const r = await run(
      [
        'ingest',
        '--dry-run',
        '--json',
        '--company',
        'company1',
        '--campaign',
        'campaign1',
        '--v002-timezone',
        'UTC',
        join(sharedDir, 'samples'),
      ],
      { cwd },
    );
    const report = JSON.parse(r.stdout);
    t.equal(report.files.length, 7);
    t.same(
      report.files.filter((f: Json) => f.device === 'samples').map((f: Json) => f.path.split('/').at(-1)),
      [],
      'no file gets device "samples": the folder is not a device serial',
    );
    t.same(
      report.files.flatMap((f: Json) => f.warnings.filter((w: string) => /^folder /.test(w))),
      [],
      'no folder/serial mismatch warnings for a folder that is not a device',
    );
  },
);
