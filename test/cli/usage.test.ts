/**
 * `powerview ingest` as a process: usage errors given as options (the paths and environment cases are in
 * test/cli/usage-paths.test.ts; run in parallel, nineteen CLI processes made one file slow).
 * Helpers in test/support/cli-helpers.ts.
 */
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFile } from '../../fixtures/generate.js';
import { archive, run, spec, tempDir } from '../support/cli-helpers.js';

t.test('usage errors (options): exit 2, nothing on stdout, a message on stderr saying what to fix', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  await archive(root);
  const shallowDir = join(cwd, 'loose');
  mkdirSync(shallowDir);
  await writeFile(join(shallowDir, 'x.tsv'), spec());
  const cases: [string, string[], RegExp, Record<string, string>?][] = [
    ['no PATH', ['ingest', '--dry-run'], /paths?/i],
    ['nonexistent path', ['ingest', '--dry-run', 'nope/missing'], /nope\/missing.*no such file/],
    [
      'unknown --v002-timezone',
      ['ingest', '--dry-run', '--v002-timezone', 'Mars/Olympus', root],
      /time zone.*Mars\/Olympus.*Europe\/Paris/,
    ],
    ['--workers abc', ['ingest', '--dry-run', '--workers', 'abc', root], /--workers.*integer.*"abc"/],
    ['--workers -1', ['ingest', '--dry-run', '--workers', '-1', root], /--workers.*integer/],
    ['--block-size 0', ['ingest', '--dry-run', '--block-size', '0', root], /--block-size/],
    ['--lp-out without --dry-run', ['ingest', '--lp-out', 'x.lp', root], /--lp-out goes with --dry-run/],
    ['--verify with --dry-run', ['ingest', '--dry-run', '--verify', root], /--verify.*--dry-run/],
    [
      '--force with --no-postgres',
      ['ingest', '--force', '--no-postgres', root],
      /--force .*cannot run with --no-postgres/,
    ],
    ['bad INFLUX_API', ['ingest', root], /INFLUX_API must be v1, v2 or v3/, { INFLUX_API: 'v9' }],
    [
      'unsafe --company',
      ['ingest', '--company', 'a b', '--campaign', 'c', root],
      /--company: company name "a b" is not a safe identifier/,
    ],
  ];
  const results = await Promise.all(cases.map(([, args, , env]) => run(args, { cwd, env })));
  cases.forEach(([name, , message], i) => {
    const r = results[i];
    t.equal(r.code, 2, `${name}: exit 2`);
    t.equal(r.stdout, '', `${name}: nothing on stdout`);
    t.match(r.stderr, message, `${name}: the message says what to fix`);
    t.notMatch(r.stderr, /^\s+at /m, `${name}: no stack trace`);
  });
});
