/**
 * `powerview ingest` as a process: configuration precedence (flags > environment/.env > defaults) and the walking
 * rules. Helpers in test/support/cli-helpers.ts.
 */
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { AUG, putFile, run, spec, tempDir, type Json } from '../support/cli-helpers.js';

t.test(
  'environment: POWERVIEW_V002_TIMEZONE, POWERVIEW_WORKERS, POWERVIEW_DATA_ROOT, .env; flags override',
  async (t) => {
    const cwd = tempDir(t);
    const root = join(cwd, 'data');
    const file = await putFile(join(root, 'acme', 'camp', '02001000', 'a.tsv'), spec());
    const report = async (args: string[], env: Record<string, string> = {}, dir = cwd) => {
      const r = await run(['ingest', '--dry-run', '--json', ...args], { cwd: dir, env });
      t.equal(r.code, 0, `exit 0: ${args.join(' ')} ${JSON.stringify(env)}`);
      return r.code === 0 ? JSON.parse(r.stdout) : null;
    };
    const envUtc = await report(['--workers', '0', file], { POWERVIEW_V002_TIMEZONE: 'UTC' });
    t.equal(envUtc?.v002_timezone, 'UTC', 'POWERVIEW_V002_TIMEZONE honoured');
    t.equal(envUtc?.files[0].time_range.first, '2025-08-03T00:00:00Z');
    const flagWins = await report(['--workers', '0', '--v002-timezone', 'Europe/Paris', file], {
      POWERVIEW_V002_TIMEZONE: 'UTC',
    });
    t.equal(flagWins?.v002_timezone, 'Europe/Paris', '--v002-timezone overrides the variable');
    t.equal(flagWins?.files[0].time_range.first, '2025-08-02T22:00:00Z');
    const flagOverBadEnv = await report(['--workers', '0', '--v002-timezone', 'UTC', file], {
      POWERVIEW_V002_TIMEZONE: 'Bad/Zone',
    });
    t.equal(flagOverBadEnv?.v002_timezone, 'UTC', 'a flag replaces an invalid variable');

    const envWorkers = await report([file], { POWERVIEW_WORKERS: '0' });
    t.equal(envWorkers?.workers, 0, 'POWERVIEW_WORKERS honoured');
    const flagWorkers = await report(['--workers', '1', file], { POWERVIEW_WORKERS: '0' });
    t.equal(flagWorkers?.workers, 1, '--workers overrides POWERVIEW_WORKERS');

    const envRoot = await report(['--workers', '0', file], { POWERVIEW_DATA_ROOT: root });
    t.match(
      envRoot?.files[0],
      { tenant: 'acme', campaign: 'camp', device: '02001000' },
      'POWERVIEW_DATA_ROOT used as root',
    );
    const flagRoot = await report(['--workers', '0', '--root', root, file], {
      POWERVIEW_DATA_ROOT: join(root, 'acme', 'camp'),
    });
    t.match(
      flagRoot?.files[0],
      { tenant: 'acme', campaign: 'camp', device: '02001000' },
      '--root overrides POWERVIEW_DATA_ROOT',
    );
    const wrong = await run(['ingest', '--dry-run', '--json', file], {
      cwd,
      env: { POWERVIEW_DATA_ROOT: join(root, 'acme') },
    });
    t.equal(
      wrong.code,
      2,
      'a POWERVIEW_DATA_ROOT the files are not under is a usage error (so it is used, not inferred)',
    );

    // .env in the working directory is read; the real environment wins over it
    const envDir = join(cwd, 'withenv');
    mkdirSync(envDir);
    writeFileSync(join(envDir, '.env'), 'POWERVIEW_V002_TIMEZONE=UTC\nPOWERVIEW_WORKERS=0\n');
    const dotenv = await report([file], {}, envDir);
    t.equal(dotenv?.v002_timezone, 'UTC', '.env POWERVIEW_V002_TIMEZONE');
    t.equal(dotenv?.workers, 0, '.env POWERVIEW_WORKERS');
    const realWins = await report([file], { POWERVIEW_V002_TIMEZONE: 'Europe/Paris' }, envDir);
    t.equal(realWins?.v002_timezone, 'Europe/Paris', 'the environment wins over .env');
  },
);

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
