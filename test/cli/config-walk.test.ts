/**
 * `powerview ingest` as a process: the walking rules (parsed/ and error/, hidden and upload files). Helpers in
 * test/support/cli-helpers.ts.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { AUG, putFile, run, spec, tempDir, type Json } from '../support/cli-helpers.js';

t.test('walking: parsed/ and error/ skipped unless --include-processed; hidden and upload files ignored', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  const dev = join(root, 'acme', 'camp', '02001000');
  await putFile(join(dev, 'MV2_a.tsv'), spec());
  await putFile(join(dev, 'MV2_B.TSV'), spec({ start: AUG + 86400 }));
  await putFile(join(dev, 'parsed', 'MV2_old.tsv'), spec({ start: AUG - 86400 }));
  await putFile(join(dev, 'error', 'MV2_bad.tsv'), spec({ start: AUG - 2 * 86400 }));
  await putFile(join(dev, '.MV2_hidden.tsv'), spec());
  await putFile(join(dev, 'MV2_c.sftpgo-upload.1234.tsv'), spec());
  await putFile(join(root, 'acme', 'camp', '.trash', '02001000', 'MV2_t.tsv'), spec());
  await putFile(join(root, 'acme', '.camp-old', '02001000', 'MV2_t.tsv'), spec());
  writeFileSync(join(dev, 'notes.txt'), 'not data\n');
  writeFileSync(join(dev, 'MV2_a.tsv.bak'), 'not data\n');

  const names = (report: Json) => report.files.map((f: Json) => relative(dev, f.path));
  const plain = await run(['ingest', '--dry-run', '--json', '--workers', '0', root], { cwd });
  t.equal(plain.code, 0);
  t.same(
    names(JSON.parse(plain.stdout)),
    ['MV2_B.TSV', 'MV2_a.tsv'],
    'only the pending .tsv files (any case), by path',
  );

  const all = await run(['ingest', '--dry-run', '--json', '--workers', '0', '--include-processed', root], { cwd });
  t.equal(all.code, 0);
  const allReport = JSON.parse(all.stdout);
  t.same(
    names(allReport),
    ['MV2_B.TSV', 'MV2_a.tsv', 'error/MV2_bad.tsv', 'parsed/MV2_old.tsv'],
    '--include-processed walks parsed/ and error/ too',
  );
  t.ok(
    allReport.files.every((f: Json) => f.device === '02001000' && f.tenant === 'acme' && f.campaign === 'camp'),
    'files in parsed/ and error/ belong to the device above',
  );

  const explicit = await run(['ingest', '--dry-run', '--json', '--workers', '0', join(dev, 'parsed', 'MV2_old.tsv')], {
    cwd,
  });
  t.equal(explicit.code, 0, 'a file named inside parsed/ is taken');
  const ex = JSON.parse(explicit.stdout).files;
  t.equal(ex.length, 1);
  t.match(
    ex[0],
    { tenant: 'acme', campaign: 'camp', device: '02001000', status: 'ok', warnings: [] },
    'its device is the folder above parsed/',
  );
  t.same(ex[0].warnings, [], 'folder and header agree: no warning');

  const explicitDir = await run(['ingest', '--dry-run', '--json', '--workers', '0', join(dev, 'error')], { cwd });
  t.equal(explicitDir.code, 0, 'a parsed/ or error/ folder named explicitly');
  t.match(JSON.parse(explicitDir.stdout).files, [{ device: '02001000', tenant: 'acme' }]);
});
