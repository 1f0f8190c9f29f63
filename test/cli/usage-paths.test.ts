/**
 * `powerview ingest` as a process: usage errors from paths and the environment.
 * Helpers in test/support/cli-helpers.ts.
 */
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFile } from '../../fixtures/generate.js';
import { archive, run, spec, tempDir } from '../support/cli-helpers.js';

t.test(
  'usage errors (paths and environment): exit 2, nothing on stdout, a message on stderr saying what to fix',
  async (t) => {
    const cwd = tempDir(t);
    const root = join(cwd, 'data');
    await archive(root);
    const deep = join(root, 'acme', 'camp-2025', '02001000');
    const shallowDir = join(cwd, 'loose');
    mkdirSync(shallowDir);
    await writeFile(join(shallowDir, 'x.tsv'), spec());
    const cases: [string, string[], RegExp, Record<string, string>?][] = [
      ['--company without --campaign', ['ingest', '--dry-run', '--company', 'acme', root], /--company and --campaign/],
      ['--campaign without --company', ['ingest', '--dry-run', '--campaign', 'c', root], /--company and --campaign/],
      ['files at different depths, no --root', ['ingest', '--dry-run', root, shallowDir], /--root/],
      ['files outside --root', ['ingest', '--dry-run', '--root', deep, root], /--root/],
      ['unknown option', ['ingest', '--dry-run', '--frobnicate', root], /--frobnicate/],
      ['unknown command', ['frobnicate'], /frobnicate/],
      ['bad POWERVIEW_WORKERS', ['ingest', '--dry-run', root], /POWERVIEW_WORKERS/, { POWERVIEW_WORKERS: 'many' }],
      [
        'bad POWERVIEW_V002_TIMEZONE',
        ['ingest', '--dry-run', root],
        /POWERVIEW_V002_TIMEZONE.*Nowhere\/Land/,
        { POWERVIEW_V002_TIMEZONE: 'Nowhere/Land' },
      ],
      [
        'POWERVIEW_DATA_ROOT not above the files',
        ['ingest', '--dry-run', root],
        /--root|POWERVIEW_DATA_ROOT/,
        { POWERVIEW_DATA_ROOT: deep },
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
  },
);
