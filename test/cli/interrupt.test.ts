/**
 * Ctrl-C during `powerview ingest` while InfluxDB holds the writes: the run stops at once, says what
 * was left in place, and leaves no report spool (`….json.files.jsonl`) behind.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { archive, cleanEnv, tempDir } from '../cli-helpers.js';
import { cliPath } from '../helpers.js';

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
});
