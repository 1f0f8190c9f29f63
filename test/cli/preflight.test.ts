/**
 * `powerview ingest` with a store absent: each store is checked once at start and the run fails in
 * seconds (exit 3) naming the address and the fix, instead of retrying for the whole store wait.
 */
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { archive, run, tempDir, type Json } from '../support/cli-helpers.js';

/** a port nothing listens on: bound, then released */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** a TCP listener that accepts and says nothing: enough for the reachability check */
async function listener(t: { teardown(fn: () => unknown): void }): Promise<number> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

t.test('no InfluxDB listening: exit 3 within seconds, naming the address and the fix', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  const { files } = await archive(root);
  const port = await closedPort();
  const t0 = Date.now();
  // a store wait of 300 s: a run that retried instead of failing at once would take at least that long
  const r = await run(
    ['ingest', '--json', '--no-postgres', '--store-wait', '300', '--report-dir', join(cwd, 'reports'), root],
    { cwd, env: { INFLUX_URL: `http://127.0.0.1:${port}` } },
  );
  const seconds = (Date.now() - t0) / 1000;
  t.equal(r.code, 3, r.stderr);
  t.ok(seconds < 100, `failed at the start (${seconds.toFixed(1)} s), not after the 300 s store wait`);
  t.match(
    r.stderr,
    `powerview: InfluxDB at http://127.0.0.1:${port} refused the connection: ` +
      'start it (`ops/services.sh up`) or set INFLUX_URL',
  );
  t.match(r.stderr, '`eval "$(ops/services.sh env)"` sets it', 'how to point INFLUX_URL at the services ops/ runs');
  const report: Json = JSON.parse(r.stdout);
  t.equal(report.store_failure.code, 'PV_ERR_STORE_UNAVAILABLE');
  t.equal(report.totals.files_failed, files.length, 'every file reported');
  for (const f of report.files) t.equal(f.moved_to, null, `${f.path}: left in place`);
  for (const f of files) t.ok(existsSync(f), 'still there');
  t.notOk(existsSync(join(cwd, 'reports')) && readdirSync(join(cwd, 'reports')).length > 0, 'no report file');
});

t.test('no PostgreSQL listening at DATABASE_URL: exit 3, host:port named, never the password', async (t) => {
  const cwd = tempDir(t);
  const root = join(cwd, 'data');
  await archive(root);
  const influx = await listener(t);
  const pg = await closedPort();
  const r = await run(['ingest', '--json', root], {
    cwd,
    env: { INFLUX_URL: `http://127.0.0.1:${influx}`, DATABASE_URL: `postgres://pv:s3cret@127.0.0.1:${pg}/pv` },
  });
  t.equal(r.code, 3, r.stderr);
  t.match(r.stderr, `PostgreSQL at 127.0.0.1:${pg} refused the connection: start it`);
  t.match(r.stderr, /DATABASE_URL/, 'says which setting to fix');
  t.notMatch(r.stderr + r.stdout, /s3cret/, 'the password is not shown');
});
