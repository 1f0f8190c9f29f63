/**
 * Ctrl-C during `powerview ingest` while InfluxDB holds the writes: the run stops at once, says what
 * was left in place, and leaves no report spool (`….json.files.jsonl`) and no pin (`.pv-taken.…`, the
 * hidden link of a file being read) behind; a pin a killed run left is cleaned by the next run.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, linkSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { archive, cleanEnv, tempDir } from '../support/cli-helpers.js';
import { runCli } from '../support/services.js';
import { cliPath } from '../support/helpers.js';

t.test('SIGINT while writes are held: exit 130, files in place, no spool', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  const reports = join(cwd, 'reports');
  const { files } = await archive(root);
  // an InfluxDB stand-in that takes every request and never answers
  const held: ServerResponse[] = [];
  let arrived: () => void = () => {};
  const first = new Promise<void>((r) => (arrived = r));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    held.push(res);
    arrived();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const res of held) res.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const child = spawn(
    process.execPath,
    [cliPath, 'ingest', '--json', '--no-postgres', '--workers', '0', '--report-dir', reports, root],
    { cwd, env: cleanEnv({ INFLUX_URL: url }), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  await first;
  t.ok(existsSync(reports) && readdirSync(reports).some((f) => f.endsWith('.files.jsonl')), 'a spool while running');
  const t0 = Date.now();
  child.kill('SIGINT');
  const code = await exited;
  t.ok(Date.now() - t0 < 5000, 'stopped within seconds');
  t.equal(code, 130, stderr);
  t.match(stderr, /interrupted: 0 files moved to parsed\/, 0 to error\/; 4 left in place/);
  t.same(
    readdirSync(reports).filter((f) => f.endsWith('.files.jsonl')),
    [],
    'no spool left behind',
  );
  for (const f of files) t.ok(existsSync(f), 'still in place');
  const pins = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? pins(join(dir, e.name)) : e.name.startsWith('.pv-taken.') ? [join(dir, e.name)] : [],
    );
  t.same(pins(root), [], 'no pin left in the device folders');
});

t.test('a pin a killed run left is cleaned by the next run, its bytes kept once', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  const { files } = await archive(root);
  // a run of this host killed (SIGKILL) while it read files[0]: its hard-linked pin, pid long gone
  const pin = join(
    dirname(files[0]),
    `.pv-taken.999999-${hostname()
      .replace(/[^A-Za-z0-9_-]/g, '_')
      .slice(0, 40)}.1.${basename(files[0])}`,
  );
  linkSync(files[0], pin);
  const r = await runCli(
    ['ingest', '--dry-run', '--json', root],
    cleanEnv({ INFLUX_URL: 'http://127.0.0.1:9' }) as Record<string, string>,
  );
  t.equal(r.code, 0, r.stderr);
  t.ok(existsSync(pin), 'a dry run touches nothing');
  // an InfluxDB stand-in that stores every write (204) and answers every query
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.startsWith('/query'))
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"results":[{"statement_id":0}]}');
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const run = await runCli(
    ['ingest', '--json', '--no-postgres', '--meta-db', '', '--report-dir', join(cwd, 'reports'), root],
    cleanEnv({ INFLUX_URL: url }) as Record<string, string>,
  );
  t.equal(run.code, 0, run.stderr);
  t.notOk(existsSync(pin), 'the next run removed the pin');
  t.same(
    readdirSync(join(dirname(files[0]), 'parsed')).sort(),
    files
      .filter((f) => dirname(f) === dirname(files[0]))
      .map((f) => basename(f))
      .sort(),
    'its files ingested and moved, each once',
  );

  // again, from another folder: nothing left to ingest, the report still goes beside the root (not into the cwd)
  const elsewhere = tempDir(t);
  const again = await runCli(
    ['ingest', '--json', '--no-postgres', '--meta-db', '', root],
    cleanEnv({ INFLUX_URL: url }) as Record<string, string>,
    {},
    elsewhere,
  );
  t.equal(again.code, 0, again.stderr);
  t.equal((JSON.parse(again.stdout) as { totals: { files: number } }).totals.files, 0, 'nothing to ingest');
  t.notOk(existsSync(join(elsewhere, 'logs')), 'no logs/ in the working folder');
  t.equal(
    readdirSync(join(cwd, 'logs', 'reports')).filter((f) => f.endsWith('.json')).length,
    1,
    'the report beside the root',
  );
});
