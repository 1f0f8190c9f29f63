/**
 * The progress bar on a terminal: failed files counted apart, no 100 % for work that failed, and a
 * store waited for mid-run said on the line ("waiting for InfluxDB: 503, retry 1 in 1 s").
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { archive, hasScript, runTty, tempDir } from '../cli-helpers.js';

const skip = hasScript ? false : 'script(1) not available';

t.test('every file failed: the bar counts them apart and does not reach 100 %', { skip }, async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  const { files } = await archive(root);
  for (const f of files) writeFileSync(f, 'not a logger file\n'.repeat(200));
  const r = await runTty(['ingest', '--dry-run', '--workers', '0', root], cwd);
  t.equal(r.code, 1);
  t.match(r.stdout, `${files.length} failed |`, 'failed files on the bar');
  t.notMatch(r.stdout, /100%/, 'no 100 % of work that failed');
});

t.test('InfluxDB answering 503: the progress line says it is waited for', { skip }, async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  await archive(root);
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(503, { 'content-type': 'text/plain' }).end('busy'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const r = await runTty(
    ['ingest', '--no-postgres', '--meta-db', '', '--store-wait', '4', '--influx-url', url, '--workers', '0', root],
    cwd,
  );
  t.equal(r.code, 3, 'the store wait ran out: exit 3');
  t.match(r.stdout, /waiting for InfluxDB: 503, retry \d+ in \d+ s/);
});
