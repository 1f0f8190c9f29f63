/**
 * `powerview report` as a process on the demo archive (fixture.ts): json and csv written twice are byte-identical
 * and hold what readCampaignReport reads; exit codes (2 usage and credentials, 1 no data in the period, 3 PostgreSQL
 * unreachable), no file left behind on failure.
 */
import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { renderCsv } from '../../src/report/csv.js';
import { renderJson } from '../../src/report/json.js';

import { reportCliSuite } from './cli-suite.js';

t.setTimeout(600_000);

reportCliSuite(t, 'powerview report: json, csv and exit codes', 'clie', (t, { dir, expected, report }) => {
  t.test('json and csv: byte-identical twice, the report as read', async (t) => {
    const json = [join(dir, 'a.json'), join(dir, 'b.json')];
    for (const out of json) t.equal((await report(['--format', 'json', '--out', out])).code, 0);
    const [a, b] = json.map((f) => readFileSync(f));
    t.ok(a.equals(b), 'json: byte-identical');
    t.ok(a.equals(renderJson(expected)), 'json: the report read in-process, byte for byte');
    const stdout = await report(['--format', 'json', '--out', '-']);
    t.equal(stdout.code, 0);
    t.equal(stdout.stdout, a.toString(), '--out -: the document on stdout');
    t.match(stdout.stderr, /json report of .* written to -/);
    for (const sub of ['c1', 'c2']) t.equal((await report(['--format', 'csv', '--out', join(dir, sub)])).code, 0);
    const files = renderCsv(expected);
    t.same(readdirSync(join(dir, 'c1')).sort(), [...files.keys()].sort(), 'one file per table');
    for (const [f, bytes] of files) {
      t.ok(readFileSync(join(dir, 'c1', f)).equals(bytes), `${f}: as rendered in-process`);
      t.ok(readFileSync(join(dir, 'c2', f)).equals(bytes), `${f}: byte-identical twice`);
    }
  });

  t.test('exit codes', async (t) => {
    const out = join(dir, 'never.xlsx');
    const cases: Array<[string, string[], Record<string, string>, number, RegExp]> = [
      ['an unknown format', ['--format', 'docx'], {}, 2, /--format must be one of pdf, xlsx, csv, json/],
      ['no format', [], {}, 2, /--format is required/],
      ['not a day', ['--format', 'json', '--from', '2025-10-32'], {}, 2, /--from: expected a day YYYY-MM-DD/],
      ['csv to stdout', ['--format', 'csv', '--out', '-'], {}, 2, /csv writes a folder/],
      ['no tenant secret', ['--format', 'xlsx'], { POWERVIEW_TENANT_SECRET: '' }, 2, /POWERVIEW_TENANT_SECRET/],
      [
        'another secret: the login refuses it',
        ['--format', 'xlsx'],
        { POWERVIEW_TENANT_SECRET: 'not-the-secret-0123456789' },
        2,
        /PV_ERR_DATABASE_AUTH.*powerview provision/,
      ],
      ['a period without data', ['--format', 'xlsx', '--from', '2030-01-01'], {}, 1, /PV_ERR_REPORT_EMPTY/],
      [
        'PostgreSQL unreachable',
        ['--format', 'xlsx'],
        { DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db' },
        3,
        /PostgreSQL at 127\.0\.0\.1:1 refused the connection/,
      ],
    ];
    for (const [what, args, extra, code, stderr] of cases) {
      const r = await report(args.includes('--out') ? args : [...args, '--out', out], extra);
      t.equal(r.code, code, `${what}: exit ${code}`);
      t.match(r.stderr, stderr, `${what}: says why`);
    }
    t.notOk(existsSync(out), 'no report written by a failed run');
  });
});
