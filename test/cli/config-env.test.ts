/**
 * `powerview ingest` as a process: configuration precedence (flags > environment/.env > defaults). The walking rules
 * are in config-walk.test.ts. Helpers in test/support/cli-helpers.ts.
 */
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { putFile, run, spec, tempDir } from '../support/cli-helpers.js';

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
