/**
 * `powerview ingest` as a process: --help, an --lp-out that cannot be written, the terminal summary.
 * Helpers in test/support/cli-helpers.ts.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { archive, hasScript, putFile, run, runTty, spec, tempDir, type Json } from '../support/cli-helpers.js';

t.test('an --lp-out that cannot be written: a clean error, no crash', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  await archive(root, { rows: 400 });
  for (const workers of ['0', '2']) {
    const r = await run(
      [
        'ingest',
        '--dry-run',
        '--json',
        '--workers',
        workers,
        '--block-size',
        '1024',
        '--lp-out',
        join(cwd, 'no', 'such', 'dir', 'out.lp'),
        root,
      ],
      { cwd },
    );
    t.equal(r.code, 2, `workers ${workers}: exit 2, a bad --lp-out is a usage error`);
    t.equal(r.stdout, '', `workers ${workers}: no report`);
    t.match(r.stderr, /no[/\\]such[/\\]dir[/\\]out\.lp/, `workers ${workers}: names the --lp-out path`);
    t.notMatch(r.stderr, /Terminating worker thread/, `workers ${workers}: no piscina termination crash`);
    t.notMatch(r.stderr, /^\s+at /m, `workers ${workers}: no stack trace`);
  }
});

t.test(
  'on a terminal: a summary table (and progress bar); --json still gives JSON',
  { skip: hasScript ? false : 'script(1) not available' },
  async (t) => {
    const cwd = tempDir(t);
    const root = join(cwd, 'data');
    await archive(root);
    await putFile(join(root, 'acme', 'camp-2025', '02001084', 'MV2_x.tsv'), spec({ masterSn: '02001171' }));
    writeFileSync(join(root, 'acme', 'camp-2025', '02001084', 'MV2_empty.tsv'), '');
    const human = await runTty(['ingest', '--dry-run', '--workers', '0', root], cwd);
    t.equal(human.code, 1, 'exit code as with a pipe');
    t.notOk(human.stdout.trimStart().startsWith('{'), 'not JSON');
    t.match(human.stdout, /file\s+status\s+rows\s+points/, 'a table header');
    t.match(human.stdout, /6 files \(5 ok, 1 failed\)/, 'a totals line');
    t.match(human.stdout, /dry run: nothing written or moved/, 'says it was a dry run');
    t.match(
      human.stdout,
      /^in acme\/camp-2025\/\r?$/m,
      'the shared company and campaign folders, relative to the root',
    );
    t.match(human.stdout, /^02001084\/MV2_empty\.tsv\s+error/m, 'the failed file, under its device folder');
    t.match(human.stdout, /empty file/, 'its cause');
    t.match(human.stdout, /warning: .*MV2_x\.tsv: folder 02001084 .*02001171/, 'warnings listed');
    t.match(human.stdout, /files \|/, 'a progress bar');
    const quiet = await runTty(['ingest', '--dry-run', '--workers', '0', '--no-progress', root], cwd);
    t.notMatch(quiet.stdout, /files \|/, '--no-progress: no bar');
    t.match(quiet.stdout, /6 files \(5 ok, 1 failed\)/);
    const json = await runTty(['ingest', '--dry-run', '--json', '--workers', '0', root], cwd);
    t.equal(json.code, 1);
    let report: Json;
    t.doesNotThrow(
      () => (report = JSON.parse(json.stdout.replace(/\r\n/g, '\n'))),
      '--json on a terminal: only the JSON report',
    );
    t.equal(report?.totals.files, 6);
  },
);

t.test('--help: exit 0, lists the options', async (t) => {
  const cwd = tempDir(t);
  const r = await run(['ingest', '--help'], { cwd });
  t.equal(r.code, 0);
  for (const opt of [
    '--dry-run',
    '--json',
    '--lp-out',
    '--root',
    '--v002-timezone',
    '--workers',
    '--include-processed',
    '--company',
    '--campaign',
  ]) {
    t.match(r.stdout, opt, `mentions ${opt}`);
  }
});
