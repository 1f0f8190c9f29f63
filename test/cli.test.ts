/**
 * `powerview ingest` as a process: exit codes, the JSON report, --lp-out,
 * configuration precedence (flags > environment/.env > defaults), walking rules
 * and the dry run. Every run has a temp dir as cwd (no stray .env) and an
 * environment without POWERVIEW_* variables.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { generateArchive, writeFile, type FileSpec } from '../fixtures/generate.js';
import { cliPath, sharedDir, sharedSkip } from './helpers.js';

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('POWERVIEW_') || k.startsWith('INFLUX_') || k === 'DATABASE_URL' || k.startsWith('TAP')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function run(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: opts.cwd,
      env: cleanEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

/** A fresh temp dir, removed when the test ends. */
function tempDir(t: { teardown(fn: () => void): void }, name = 'pv-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), name));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** wall-clock seconds (as written in the file) for an ISO date without zone */
const wall = (iso: string) => Date.parse(`${iso}Z`) / 1000;
const AUG = wall('2025-08-03T00:00:00');
const JAN = wall('2025-01-15T00:00:00');

function spec(over: Partial<FileSpec> = {}): FileSpec {
  return {
    format: 'v002',
    masterSn: '02001000',
    channels: 4,
    slaves: 0,
    slaveChannels: 6,
    rows: 20,
    start: AUG,
    step: 600,
    defects: [],
    seed: 1,
    ...over,
  };
}

async function putFile(path: string, s: FileSpec): Promise<string> {
  mkdirSync(join(path, '..'), { recursive: true });
  await writeFile(path, s);
  return path;
}

/** `<root>/acme/camp-2025/{02001000,02001007}/MV2_…tsv`, 2 devices × 2 files */
async function archive(root: string, over: { rows?: number; slaves?: number; channels?: number; format?: 'v002' | 'v003' } = {}) {
  return generateArchive({
    out: root,
    company: 'acme',
    campaign: 'camp-2025',
    devices: 2,
    files: 4,
    rows: over.rows ?? 20,
    channels: over.channels ?? 4,
    slaves: over.slaves ?? 0,
    format: over.format ?? 'v002',
    step: 600,
    start: AUG,
    defects: [],
    seed: 7,
  });
}

interface LpLine {
  measurement: string;
  tags: Record<string, string>;
  field: string;
  value: string;
  ts: number;
}

function parseLp(text: string): LpLine[] {
  const out: LpLine[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^((?:[^ \\]|\\.)+) ([^= ]+)=(\S+) (\d+)$/.exec(line);
    if (!m) throw new Error(`unparsable line protocol: ${line}`);
    const parts = m[1].split(/(?<!\\),/);
    const tags: Record<string, string> = {};
    for (const p of parts.slice(1)) {
      const i = p.search(/(?<!\\)=/);
      tags[p.slice(0, i)] = p.slice(i + 1).replace(/\\(.)/g, '$1');
    }
    out.push({ measurement: parts[0], tags, field: m[2], value: m[3], ts: Number(m[4]) });
  }
  return out;
}

const lineCount = (text: string) => text.split('\n').filter((l) => l !== '').length;

/** every file and folder under dir with its size, for before/after comparisons */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      const st = statSync(full);
      out.push(`${relative(dir, full)}${st.isDirectory() ? '/' : ` ${st.size} ${st.mtimeMs}`}`);
      if (st.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out;
}

type Json = any;

t.test('ingest --dry-run --json DIR: one JSON report with every field, identity from the path', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  const { files } = await archive(root, { slaves: 1, channels: 10 });
  const r = await run(['ingest', '--dry-run', '--json', '--workers', '0', '--lp-out', join(cwd, 'out.lp'), root], { cwd });
  t.equal(r.code, 0, 'exit 0');
  let report: Json;
  t.doesNotThrow(() => (report = JSON.parse(r.stdout)), 'stdout is one JSON document');
  if (!report) return;
  t.match(report.run_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'run_id is a UUID');
  t.ok(!Number.isNaN(Date.parse(report.started_at)) && /Z$/.test(report.started_at), 'started_at is an ISO date');
  t.ok(!Number.isNaN(Date.parse(report.finished_at)), 'finished_at is an ISO date');
  t.ok(Date.parse(report.finished_at) >= Date.parse(report.started_at), 'finished_at ≥ started_at');
  t.type(report.duration_ms, 'number');
  t.ok(report.duration_ms >= 0, 'duration_ms ≥ 0');
  t.equal(report.dry_run, true, 'dry_run');
  t.equal(report.v002_timezone, 'Europe/Paris', 'default V002 zone');
  t.equal(report.workers, 0, '--workers 0 reported');

  t.equal(report.files.length, 4, 'four files');
  t.same(
    report.files.map((f: Json) => f.path),
    [...files].sort(),
    'files listed by path, absolute',
  );
  t.same(report.totals, {
    files: 4,
    files_ok: 4,
    files_failed: 0,
    bytes: report.files.reduce((s: number, f: Json) => s + f.bytes, 0),
    rows: 80,
    points: 80 * 10,
    invalid_timestamps: 0,
    invalid_values: 0,
    truncated_rows: 0,
    duplicate_rows: 0,
  });
  for (const f of report.files) {
    const device = f.path.split('/').at(-2);
    t.match(
      f,
      {
        company: 'acme',
        campaign: 'camp-2025',
        device,
        status: 'ok',
        error: null,
        warnings: [],
        rows: 20,
        points: 200,
        invalid_timestamps: { count: 0, first_lines: [] },
        invalid_values: { count: 0, first_lines: [] },
        truncated_rows: { count: 0, first_lines: [] },
        duplicate_rows: 0,
        master_sn: device,
        format_id: 'MV_T302_V002',
      },
      `${device}: report fields`,
    );
    t.same(f.warnings, [], 'no warnings');
    t.equal(f.channels.length, 10, 'one entry per column');
    for (const c of f.channels) {
      t.equal(c.count, 20, `${c.channel_id}: count`);
      t.ok(c.min <= c.mean && c.mean <= c.max, `${c.channel_id}: min ≤ mean ≤ max`);
    }
    t.same(
      f.channels.map((c: Json) => c.label),
      ['U1', 'U2', 'U3', 'Ch1', 'Ch1', 'Ch2', 'Ch3', 'Ch4', 'Ch5', 'Ch6'],
      'master tri labels, then the slave’s',
    );
    t.match(f.channels[4].channel_id, new RegExp(`^M${device}_S\\d{8}_Ch1$`), 'slave channel id');
  }
  const first = report.files[0];
  t.same(first.time_range, { first: '2025-08-02T22:00:00Z', last: '2025-08-03T01:10:00Z' }, 'time_range in UTC (Paris summer time)');

  // the channel statistics agree with the line protocol
  const lp = parseLp(readFileSync(join(cwd, 'out.lp'), 'utf8'));
  t.equal(lp.length, report.totals.points, 'as many lines as points');
  let offset = 0;
  for (const f of report.files) {
    const mine = lp.slice(offset, offset + f.points);
    offset += f.points;
    for (const c of f.channels) {
      const values = mine.filter((l) => l.tags.channel_id === c.channel_id).map((l) => Number(l.value));
      t.equal(values.length, c.count, `${c.channel_id}: LP lines = count`);
      t.equal(Math.min(...values), c.min, `${c.channel_id}: min`);
      t.equal(Math.max(...values), c.max, `${c.channel_id}: max`);
      t.ok(Math.abs(values.reduce((s, v) => s + v, 0) / values.length - c.mean) < 1e-6, `${c.channel_id}: mean`);
    }
  }
});

t.test('piped stdout without --json still gives the JSON report', async (t) => {
  const cwd = tempDir(t);
  await archive(join(cwd, 'data'));
  const r = await run(['ingest', '--dry-run', '--workers', '0', 'data'], { cwd });
  t.equal(r.code, 0);
  let report: Json;
  t.doesNotThrow(() => (report = JSON.parse(r.stdout)), 'JSON on a pipe');
  t.equal(report?.totals.files, 4);
  t.equal(report?.files[0].company, 'acme', 'relative PATH resolved against cwd');
});

t.test('a folder with bad files: exit 1, those files in error with a one-line cause, the others ok', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  await archive(root);
  const dev = join(root, 'acme', 'camp-2025', '02001000');
  writeFileSync(join(dev, 'MV2_empty.tsv'), '');
  writeFileSync(
    join(dev, 'MV2_t202.tsv'),
    '02001000\t02001000\t02001000\nMV_T202_V002\tPh 1 V\tVoie1 W\n03/08/25 00:00:00\t230.1\t12.5\n',
  );
  writeFileSync(join(dev, 'MV2_header_only.tsv'), '02001000\t02001000\nMV_T302_V002\tPh 1 V\n');
  writeFileSync(join(dev, 'MV2_binary.tsv'), Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 0, 0, 10, 0, 1]));
  const r = await run(['ingest', '--dry-run', '--json', '--workers', '2', root], { cwd });
  t.equal(r.code, 1, 'exit 1 when a file failed');
  const report = JSON.parse(r.stdout);
  t.equal(report.totals.files, 8);
  t.equal(report.totals.files_ok, 4);
  t.equal(report.totals.files_failed, 4);
  const byName = new Map<string, Json>(report.files.map((f: Json) => [f.path.split('/').at(-1), f]));
  for (const name of ['MV2_empty.tsv', 'MV2_t202.tsv', 'MV2_header_only.tsv', 'MV2_binary.tsv']) {
    const f = byName.get(name);
    t.equal(f?.status, 'error', `${name}: status error`);
    t.match(f?.error?.code, /^PV_ERR_[A-Z_]+$/, `${name}: error code`);
    t.type(f?.error?.message, 'string');
    t.ok(f?.error?.message.length > 0 && !/[\r\n]/.test(f?.error?.message), `${name}: one-line message`);
    t.equal(f?.points, 0, `${name}: no points`);
    t.match(f, { company: 'acme', campaign: 'camp-2025', device: '02001000' }, `${name}: identity`);
  }
  t.equal(byName.get('MV2_empty.tsv')?.error.code, 'PV_ERR_EMPTY_FILE');
  t.equal(byName.get('MV2_t202.tsv')?.error.code, 'PV_ERR_UNKNOWN_FORMAT');
  t.match(byName.get('MV2_t202.tsv')?.error.message, /MV_T202_V002/, 'the unknown format id is named');
  for (const f of report.files.filter((f: Json) => !/empty|t202|header_only|binary/.test(f.path))) {
    t.equal(f.status, 'ok', `${f.path.split('/').at(-1)}: ok`);
    t.equal(f.points, 80);
  }
});

t.test('every file failing: exit 1', async (t) => {
  const cwd = tempDir(t);
  const dev = join(cwd, 'data', 'acme', 'camp', '02001000');
  mkdirSync(dev, { recursive: true });
  writeFileSync(join(dev, 'a.tsv'), '');
  const r = await run(['ingest', '--dry-run', '--json', join(cwd, 'data')], { cwd });
  t.equal(r.code, 1);
  t.equal(JSON.parse(r.stdout).totals.files_failed, 1);
});

t.test('row-level defects are counted with their line numbers, good rows kept', async (t) => {
  const cwd = tempDir(t);
  const file = await putFile(
    join(cwd, 'data', 'acme', 'camp', '02001000', 'a.tsv'),
    spec({ defects: ['duplicates', 'truncated', 'invalid-values', 'invalid-timestamps'] }),
  );
  const r = await run(['ingest', '--dry-run', '--json', '--workers', '0', '--lp-out', '-', file], { cwd });
  t.equal(r.code, 0, 'bad rows do not fail the file');
  const f = JSON.parse(r.stderr).files[0];
  t.equal(f.status, 'ok');
  t.same(f.invalid_timestamps, { count: 2, first_lines: [7, 8] }, 'invalid timestamps at lines 7 and 8');
  t.equal(f.invalid_values.count, 4, 'four bad cells (abc, -, empty, 12,5)');
  t.ok(f.invalid_values.first_lines.length > 0 && f.invalid_values.first_lines.every((l: number) => l === 9), 'on line 9');
  t.same(f.truncated_rows, { count: 1, first_lines: [24] }, 'the cut row at the end');
  t.equal(f.duplicate_rows, 1, 'one timestamp twice');
  t.equal(f.rows, 18, '20 rows written, 2 with bad timestamps');
  t.equal(f.points, 18 * 4 - 4, 'every valid value is a point');
  const lp = parseLp(r.stdout);
  t.equal(lp.length, f.points);
  // 03/08/25 02:00:00 Paris (= 00:00Z) appears twice: the later row wins
  const dup = lp.filter((l) => l.ts === wall('2025-08-03T00:00:00') && l.tags.channel_label === 'Ch1');
  t.same(dup.map((l) => l.value), ['-302.8'], 'the last occurrence of a timestamp wins');
});

t.test('usage errors: exit 2, nothing on stdout, a message on stderr saying what to fix', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  await archive(root);
  const deep = join(root, 'acme', 'camp-2025', '02001000');
  const shallowDir = join(cwd, 'loose');
  mkdirSync(shallowDir);
  await writeFile(join(shallowDir, 'x.tsv'), spec());
  const cases: [string, string[], RegExp, Record<string, string>?][] = [
    ['no PATH', ['ingest', '--dry-run'], /paths?/i],
    ['nonexistent path', ['ingest', '--dry-run', 'nope/missing'], /nope\/missing.*no such file/],
    ['unknown --v002-timezone', ['ingest', '--dry-run', '--v002-timezone', 'Mars/Olympus', root], /time zone.*Mars\/Olympus.*Europe\/Paris/],
    ['--workers abc', ['ingest', '--dry-run', '--workers', 'abc', root], /--workers.*integer.*"abc"/],
    ['--workers -1', ['ingest', '--dry-run', '--workers', '-1', root], /--workers.*integer/],
    ['--block-size 0', ['ingest', '--dry-run', '--block-size', '0', root], /--block-size/],
    ['--lp-out without --dry-run', ['ingest', '--lp-out', 'x.lp', root], /--lp-out goes with --dry-run/],
    ['--verify with --dry-run', ['ingest', '--dry-run', '--verify', root], /--verify.*--dry-run/],
    ['bad INFLUX_API', ['ingest', root], /INFLUX_API must be v1, v2 or v3/, { INFLUX_API: 'v9' }],
    ['unsafe --company', ['ingest', '--company', 'a b', '--campaign', 'c', root], /--company: company name "a b" is not a safe identifier/],
    ['--company without --campaign', ['ingest', '--dry-run', '--company', 'acme', root], /--company and --campaign/],
    ['--campaign without --company', ['ingest', '--dry-run', '--campaign', 'c', root], /--company and --campaign/],
    ['files at different depths, no --root', ['ingest', '--dry-run', root, shallowDir], /--root/],
    ['files outside --root', ['ingest', '--dry-run', '--root', deep, root], /--root/],
    ['unknown option', ['ingest', '--dry-run', '--frobnicate', root], /--frobnicate/],
    ['unknown command', ['frobnicate'], /frobnicate/],
    ['bad POWERVIEW_WORKERS', ['ingest', '--dry-run', root], /POWERVIEW_WORKERS/, { POWERVIEW_WORKERS: 'many' }],
    ['bad POWERVIEW_V002_TIMEZONE', ['ingest', '--dry-run', root], /POWERVIEW_V002_TIMEZONE.*Nowhere\/Land/, { POWERVIEW_V002_TIMEZONE: 'Nowhere/Land' }],
    ['POWERVIEW_DATA_ROOT not above the files', ['ingest', '--dry-run', root], /--root|POWERVIEW_DATA_ROOT/, { POWERVIEW_DATA_ROOT: deep }],
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

t.test('--lp-out FILE: one line per point, in file order (files sorted by path)', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  await archive(root);
  const r = await run(['ingest', '--dry-run', '--json', '--workers', '2', '--block-size', '700', '--lp-out', 'out.lp', root], { cwd });
  t.equal(r.code, 0);
  const report = JSON.parse(r.stdout);
  const text = readFileSync(join(cwd, 'out.lp'), 'utf8');
  t.ok(text.endsWith('\n'), 'ends with a newline');
  t.equal(lineCount(text), report.totals.points, 'line count = totals.points');
  const paths = report.files.map((f: Json) => f.path);
  t.same(paths, [...paths].sort(), 'report files sorted by path');
  const lp = parseLp(text);
  let offset = 0;
  for (const f of report.files) {
    const mine = lp.slice(offset, offset + f.points);
    offset += f.points;
    const first = Date.parse(f.time_range.first) / 1000;
    const last = Date.parse(f.time_range.last) / 1000;
    t.ok(
      mine.every((l) => l.tags.device_master_sn === f.master_sn && l.ts >= first && l.ts <= last),
      `${relative(root, f.path)}: its lines come as one run, in its place`,
    );
    t.ok(mine.every((l) => l.tags.campaign === 'camp-2025'), 'campaign tag from the path');
  }
  // blocks and threads do not change the bytes
  const r0 = await run(['ingest', '--dry-run', '--workers', '0', '--lp-out', 'out0.lp', root], { cwd });
  t.equal(r0.code, 0);
  t.equal(readFileSync(join(cwd, 'out0.lp'), 'utf8'), text, 'same line protocol on the main thread and on 2 workers with small blocks');
});

t.test('--lp-out -: line protocol on stdout, the JSON report on stderr', async (t) => {
  const cwd = tempDir(t);
  await archive(join(cwd, 'data'));
  const r = await run(['ingest', '--dry-run', '--workers', '0', '--lp-out', '-', 'data'], { cwd });
  t.equal(r.code, 0);
  let report: Json;
  t.doesNotThrow(() => (report = JSON.parse(r.stderr)), 'stderr is the JSON report');
  t.equal(lineCount(r.stdout), report?.totals.points, 'stdout: one line per point');
  t.doesNotThrow(() => parseLp(r.stdout), 'stdout is only line protocol');
  t.ok(r.stdout.startsWith('electrical,campaign=camp-2025,'), 'starts with a point');
});

t.test('explicit files given out of path order are still ingested in path order', async (t) => {
  const cwd = tempDir(t);
  const { files } = await archive(join(cwd, 'data'));
  const sorted = [...files].sort();
  const r = await run(['ingest', '--dry-run', '--json', '--workers', '0', ...[...sorted].reverse()], { cwd });
  t.equal(r.code, 0);
  const report = JSON.parse(r.stdout);
  t.same(
    report.files.map((f: Json) => f.path),
    sorted,
    'a device’s files in export order (DESIGN §4), whatever the argument order',
  );
});

t.test('--v002-timezone UTC vs the default Europe/Paris', async (t) => {
  const cwd = tempDir(t);
  const aug = await putFile(join(cwd, 'data', 'acme', 'camp', '02001000', 'aug.tsv'), spec());
  const jan = await putFile(join(cwd, 'data', 'acme', 'camp', '02001007', 'jan.tsv'), spec({ masterSn: '02001007', start: JAN }));
  const v3 = await putFile(join(cwd, 'data', 'acme', 'camp', '02001014', 'v3.tsv'), spec({ masterSn: '02001014', format: 'v003' }));
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
  t.ok(utcAug.lp.every((l, i) => l.ts - parisAug.lp[i].ts === 7200), 'August: Paris is 7200 s ahead of UTC');
  t.ok(utcAug.lp.every((l, i) => l.value === parisAug.lp[i].value), 'same values');
  const parisJan = await lpOf(['--v002-timezone', 'Europe/Paris'], jan);
  const utcJan = await lpOf(['--v002-timezone', 'UTC'], jan);
  t.ok(utcJan.lp.every((l, i) => l.ts - parisJan.lp[i].ts === 3600), 'January: 3600 s');
  const nyAug = await lpOf(['--v002-timezone', 'America/New_York'], aug);
  t.ok(nyAug.lp.every((l, i) => l.ts - utcAug.lp[i].ts === 4 * 3600), 'any IANA zone: New York is 4 h behind in August');
  // V003 files state their own basis: the V002 zone does not apply
  const v3Paris = await lpOf([], v3);
  const v3Utc = await lpOf(['--v002-timezone', 'UTC'], v3);
  t.same(v3Paris.lp, v3Utc.lp, 'V003 (DataTimeSettings UTC) unaffected by --v002-timezone');
  t.equal(v3Paris.lp[0].ts, AUG, 'V003 UTC stamps taken as they are');
});

t.test('environment: POWERVIEW_V002_TIMEZONE, POWERVIEW_WORKERS, POWERVIEW_DATA_ROOT, .env; flags override', async (t) => {
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
  const flagWins = await report(['--workers', '0', '--v002-timezone', 'Europe/Paris', file], { POWERVIEW_V002_TIMEZONE: 'UTC' });
  t.equal(flagWins?.v002_timezone, 'Europe/Paris', '--v002-timezone overrides the variable');
  t.equal(flagWins?.files[0].time_range.first, '2025-08-02T22:00:00Z');
  const flagOverBadEnv = await report(['--workers', '0', '--v002-timezone', 'UTC', file], { POWERVIEW_V002_TIMEZONE: 'Bad/Zone' });
  t.equal(flagOverBadEnv?.v002_timezone, 'UTC', 'a flag replaces an invalid variable');

  const envWorkers = await report([file], { POWERVIEW_WORKERS: '0' });
  t.equal(envWorkers?.workers, 0, 'POWERVIEW_WORKERS honoured');
  const flagWorkers = await report(['--workers', '1', file], { POWERVIEW_WORKERS: '0' });
  t.equal(flagWorkers?.workers, 1, '--workers overrides POWERVIEW_WORKERS');

  const envRoot = await report(['--workers', '0', file], { POWERVIEW_DATA_ROOT: root });
  t.match(envRoot?.files[0], { company: 'acme', campaign: 'camp', device: '02001000' }, 'POWERVIEW_DATA_ROOT used as root');
  const flagRoot = await report(['--workers', '0', '--root', root, file], {
    POWERVIEW_DATA_ROOT: join(root, 'acme', 'camp'),
  });
  t.match(flagRoot?.files[0], { company: 'acme', campaign: 'camp', device: '02001000' }, '--root overrides POWERVIEW_DATA_ROOT');
  const wrong = await run(['ingest', '--dry-run', '--json', file], { cwd, env: { POWERVIEW_DATA_ROOT: join(root, 'acme') } });
  t.equal(wrong.code, 2, 'a POWERVIEW_DATA_ROOT the files are not under is a usage error (so it is used, not inferred)');

  // .env in the working directory is read; the real environment wins over it
  const envDir = join(cwd, 'withenv');
  mkdirSync(envDir);
  writeFileSync(join(envDir, '.env'), 'POWERVIEW_V002_TIMEZONE=UTC\nPOWERVIEW_WORKERS=0\n');
  const dotenv = await report([file], {}, envDir);
  t.equal(dotenv?.v002_timezone, 'UTC', '.env POWERVIEW_V002_TIMEZONE');
  t.equal(dotenv?.workers, 0, '.env POWERVIEW_WORKERS');
  const realWins = await report([file], { POWERVIEW_V002_TIMEZONE: 'Europe/Paris' }, envDir);
  t.equal(realWins?.v002_timezone, 'Europe/Paris', 'the environment wins over .env');
});

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
  t.same(names(JSON.parse(plain.stdout)), ['MV2_B.TSV', 'MV2_a.tsv'], 'only the pending .tsv files (any case), by path');

  const all = await run(['ingest', '--dry-run', '--json', '--workers', '0', '--include-processed', root], { cwd });
  t.equal(all.code, 0);
  const allReport = JSON.parse(all.stdout);
  t.same(
    names(allReport),
    ['MV2_B.TSV', 'MV2_a.tsv', 'error/MV2_bad.tsv', 'parsed/MV2_old.tsv'],
    '--include-processed walks parsed/ and error/ too',
  );
  t.ok(
    allReport.files.every((f: Json) => f.device === '02001000' && f.company === 'acme' && f.campaign === 'camp'),
    'files in parsed/ and error/ belong to the device above',
  );

  const explicit = await run(['ingest', '--dry-run', '--json', '--workers', '0', join(dev, 'parsed', 'MV2_old.tsv')], { cwd });
  t.equal(explicit.code, 0, 'a file named inside parsed/ is taken');
  const ex = JSON.parse(explicit.stdout).files;
  t.equal(ex.length, 1);
  t.match(ex[0], { company: 'acme', campaign: 'camp', device: '02001000', status: 'ok', warnings: [] }, 'its device is the folder above parsed/');
  t.same(ex[0].warnings, [], 'folder and header agree: no warning');

  const explicitDir = await run(['ingest', '--dry-run', '--json', '--workers', '0', join(dev, 'error')], { cwd });
  t.equal(explicitDir.code, 0, 'a parsed/ or error/ folder named explicitly');
  t.match(JSON.parse(explicitDir.stdout).files, [{ device: '02001000', company: 'acme' }]);
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

t.test('folder serial ≠ header master serial: a warning, and the header wins for tags', async (t) => {
  const cwd = tempDir(t);
  const file = await putFile(join(cwd, 'data', 'acme', 'camp', '02001084', 'MV2_x.tsv'), spec({ masterSn: '02001171', slaves: 1 }));
  const r = await run(['ingest', '--dry-run', '--workers', '0', '--lp-out', '-', file], { cwd });
  t.equal(r.code, 0, 'not an error');
  const f = JSON.parse(r.stderr).files[0];
  t.equal(f.status, 'ok');
  t.equal(f.device, '02001084', 'device: the folder');
  t.equal(f.master_sn, '02001171', 'master_sn: the header');
  t.equal(f.warnings.length, 1, 'one warning');
  t.match(f.warnings[0], /02001084/, 'names the folder');
  t.match(f.warnings[0], /02001171/, 'names the header serial');
  const lp = parseLp(r.stdout);
  t.ok(lp.length > 0);
  t.ok(lp.every((l) => l.tags.device_master_sn === '02001171'), 'device_master_sn is the header’s serial');
  t.ok(lp.every((l) => l.tags.channel_id.startsWith('M02001171_')), 'channel ids from the header’s serial');
  t.notOk(r.stdout.includes('02001084'), 'the folder serial is in no tag');
});

t.test('company and campaign folders with spaces, commas and = are escaped in the tags', async (t) => {
  const cwd = tempDir(t);
  const file = await putFile(join(cwd, 'data', 'Ac me', 'camp 2025,x=y', '02001000', 'a.tsv'), spec({ rows: 2 }));
  const r = await run(['ingest', '--dry-run', '--workers', '0', '--lp-out', '-', file], { cwd });
  t.equal(r.code, 0);
  const f = JSON.parse(r.stderr).files[0];
  t.match(f, { company: 'Ac me', campaign: 'camp 2025,x=y', device: '02001000' }, 'identity as in the path');
  t.ok(r.stdout.startsWith('electrical,campaign=camp\\ 2025\\,x\\=y,channel_id='), 'escaped by the line protocol rules');
  t.ok(parseLp(r.stdout).every((l) => l.tags.campaign === 'camp 2025,x=y'), 'round-trips');
});

t.test('an --lp-out that cannot be written: a clean error, no crash', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  await archive(root, { rows: 400 });
  for (const workers of ['0', '2']) {
    const r = await run(
      ['ingest', '--dry-run', '--json', '--workers', workers, '--block-size', '1024', '--lp-out', join(cwd, 'no', 'such', 'dir', 'out.lp'), root],
      { cwd },
    );
    t.equal(r.code, 2, `workers ${workers}: exit 2, a bad --lp-out is a usage error`);
    t.equal(r.stdout, '', `workers ${workers}: no report`);
    t.match(r.stderr, /no[/\\]such[/\\]dir[/\\]out\.lp/, `workers ${workers}: names the --lp-out path`);
    t.notMatch(r.stderr, /Terminating worker thread/, `workers ${workers}: no piscina termination crash`);
    t.notMatch(r.stderr, /^\s+at /m, `workers ${workers}: no stack trace`);
  }
});

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/** runs the CLI with stdout and stderr on a pseudo-terminal (util-linux script) */
function runTty(args: string[], cwd: string): Promise<RunResult> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, cliPath, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd, env: cleanEnv({ TERM: 'xterm' }), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => out.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: '' }));
  });
}

t.test('on a terminal: a summary table (and progress bar); --json still gives JSON', { skip: hasScript ? false : 'script(1) not available' }, async (t) => {
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
  t.match(human.stdout, /acme\/camp-2025\/02001084\/MV2_empty\.tsv\s+error/, 'the failed file, path relative to cwd');
  t.match(human.stdout, /empty file/, 'its cause');
  t.match(human.stdout, /warning: .*MV2_x\.tsv: folder 02001084 .*02001171/, 'warnings listed');
  t.match(human.stdout, /files \|/, 'a progress bar');
  const quiet = await runTty(['ingest', '--dry-run', '--workers', '0', '--no-progress', root], cwd);
  t.notMatch(quiet.stdout, /files \|/, '--no-progress: no bar');
  t.match(quiet.stdout, /6 files \(5 ok, 1 failed\)/);
  const json = await runTty(['ingest', '--dry-run', '--json', '--workers', '0', root], cwd);
  t.equal(json.code, 1);
  let report: Json;
  t.doesNotThrow(() => (report = JSON.parse(json.stdout.replace(/\r\n/g, '\n'))), '--json on a terminal: only the JSON report');
  t.equal(report?.totals.files, 6);
});

t.test('--help: exit 0, lists the options', async (t) => {
  const cwd = tempDir(t);
  const r = await run(['ingest', '--help'], { cwd });
  t.equal(r.code, 0);
  for (const opt of ['--dry-run', '--json', '--lp-out', '--root', '--v002-timezone', '--workers', '--include-processed', '--company', '--campaign']) {
    t.match(r.stdout, opt, `mentions ${opt}`);
  }
});

t.test('real samples (../shared/samples)', { skip: sharedSkip }, async (t) => {
  const cwd = tempDir(t);
  const r = await run(
    ['ingest', '--dry-run', '--json', '--company', 'company1', '--campaign', 'campaign1', '--v002-timezone', 'UTC', join(sharedDir, 'samples')],
    { cwd },
  );
  t.equal(r.code, 1, 'exit 1: three bad samples');
  const report = JSON.parse(r.stdout);
  t.match(report.totals, { files: 7, files_ok: 4, files_failed: 3 });
  const status = Object.fromEntries(report.files.map((f: Json) => [f.path.split('/').at(-1), [f.status, f.error?.code ?? null]]));
  t.same(status, {
    'empty.tsv': ['error', 'PV_ERR_EMPTY_FILE'],
    'header_only.tsv': ['error', 'PV_ERR_NO_VALID_ROW'],
    'unsupported_t202.tsv': ['error', 'PV_ERR_UNKNOWN_FORMAT'],
    'v002_master_4slaves.tsv': ['ok', null],
    'v002_tri_1slave.tsv': ['ok', null],
    'v003_mono.tsv': ['ok', null],
    'v003_tri_1slave.tsv': ['ok', null],
  });
  t.ok(report.files.every((f: Json) => f.company === 'company1' && f.campaign === 'campaign1'), 'identity from the flags');
  t.ok(report.files.every((f: Json) => !f.error || !/\n/.test(f.error.message)), 'one-line causes');
  t.equal(report.v002_timezone, 'UTC');
  t.equal(report.totals.points, report.files.reduce((s: number, f: Json) => s + f.points, 0));
  t.ok(report.totals.points > 0);
});

t.test('real samples outside the layout with --company/--campaign: no device guessed from the folder', { skip: sharedSkip }, async (t) => {
  const cwd = tempDir(t);
  const r = await run(
    ['ingest', '--dry-run', '--json', '--company', 'company1', '--campaign', 'campaign1', '--v002-timezone', 'UTC', join(sharedDir, 'samples')],
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
});
