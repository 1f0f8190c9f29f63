/**
 * `powerview ingest` as a process: the V002 zone, and the dry run moves nothing. Configuration precedence and the
 * walking rules are in config-env.test.ts. Helpers in test/support/cli-helpers.ts.
 */
import t from 'tap';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUG, JAN, archive, parseLp, putFile, run, snapshot, spec, tempDir } from '../support/cli-helpers.js';

t.test('--v002-timezone UTC vs the default Europe/Paris', async (t) => {
  const cwd = tempDir(t);
  const aug = await putFile(join(cwd, 'data', 'acme', 'camp', '02001000', 'aug.tsv'), spec());
  const jan = await putFile(
    join(cwd, 'data', 'acme', 'camp', '02001007', 'jan.tsv'),
    spec({ masterSn: '02001007', start: JAN }),
  );
  const v3 = await putFile(
    join(cwd, 'data', 'acme', 'camp', '02001014', 'v3.tsv'),
    spec({ masterSn: '02001014', format: 'v003' }),
  );
  const lpOf = async (extra: string[], file: string) => {
    const r = await run(['ingest', '--dry-run', '--workers', '0', '--lp-out', '-', ...extra, file], { cwd });
    t.equal(r.code, 0);
    return { lp: parseLp(r.stdout), report: JSON.parse(r.stderr) };
  };
  const parisAug = await lpOf([], aug);
  const utcAug = await lpOf(['--v002-timezone', 'UTC'], aug);
  t.equal(parisAug.report.v002_timezone, 'Europe/Paris');
  t.equal(utcAug.report.v002_timezone, 'UTC');
  t.equal(parisAug.lp.length, utcAug.lp.length);
  t.equal(utcAug.lp[0].ts, AUG, 'UTC: the wall clock as UTC');
  t.ok(
    utcAug.lp.every((l, i) => l.ts - parisAug.lp[i].ts === 7200),
    'August: Paris is 7200 s ahead of UTC',
  );
  t.ok(
    utcAug.lp.every((l, i) => l.value === parisAug.lp[i].value),
    'same values',
  );
  const parisJan = await lpOf(['--v002-timezone', 'Europe/Paris'], jan);
  const utcJan = await lpOf(['--v002-timezone', 'UTC'], jan);
  t.ok(
    utcJan.lp.every((l, i) => l.ts - parisJan.lp[i].ts === 3600),
    'January: 3600 s',
  );
  const nyAug = await lpOf(['--v002-timezone', 'America/New_York'], aug);
  t.ok(
    nyAug.lp.every((l, i) => l.ts - utcAug.lp[i].ts === 4 * 3600),
    'any IANA zone: New York is 4 h behind in August',
  );
  // V003 files state their own basis: the V002 zone does not apply
  const v3Paris = await lpOf([], v3);
  const v3Utc = await lpOf(['--v002-timezone', 'UTC'], v3);
  t.same(v3Paris.lp, v3Utc.lp, 'V003 (DataTimeSettings UTC) unaffected by --v002-timezone');
  t.equal(v3Paris.lp[0].ts, AUG, 'V003 UTC stamps taken as they are');
});

t.test('--dry-run moves nothing', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  await archive(root);
  const dev = join(root, 'acme', 'camp-2025', '02001000');
  writeFileSync(join(dev, 'MV2_empty.tsv'), '');
  const before = snapshot(root);
  const r = await run(['ingest', '--dry-run', '--json', '--workers', '1', root], { cwd });
  t.equal(r.code, 1, 'the empty file failed');
  t.same(snapshot(root), before, 'every file where it was, unchanged; no parsed/ or error/ folder created');
  t.same(readdirSync(cwd).sort(), ['data'], 'nothing written to the working directory');
});
