/**
 * ops/services.sh against its own state dir and spare ports (POWERVIEW_SERVICES_DIR and the
 * POWERVIEW_*_PORT variables), beside the shared services the other tests use: the output
 * formats scripts and tests parse (`env`, `status`), the exit codes, and the lifecycle
 * (up twice, a stale pid file, down, up again). See docs/operations.md, "Local services".
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

// tests run from dist/test/ops
const script = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'ops', 'services.sh');

const haveBinaries =
  spawnSync('bash', [
    '-c',
    'command -v influxd && command -v prometheus && command -v curl && ' +
      '{ ls /usr/lib/postgresql/*/bin/postgres || command -v postgres; }',
  ]).status === 0;
const servicesSkip =
  process.env.POWERVIEW_SKIP_SERVICES === '1'
    ? 'POWERVIEW_SKIP_SERVICES=1: real-service tests skipped'
    : haveBinaries
      ? false
      : 'postgres, influxd, prometheus or curl absent (ops/services.sh install installs them)';

/** free TCP ports on 127.0.0.1, held together while picked so they differ */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => {
      const server = createServer();
      return new Promise<typeof server>((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
    }),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** a state dir and ports of its own; runs the script with nothing inherited from POWERVIEW_* */
async function sandbox(): Promise<{
  dir: string;
  ports: number[];
  run: (args: string[], extra?: Record<string, string>) => Run;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'pv-ops-'));
  chmodSync(dir, 0o755); // PostgreSQL runs as the postgres user when the tests run as root
  const ports = await freePorts(4);
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('POWERVIEW_')),
  );
  Object.assign(env, {
    POWERVIEW_SERVICES_DIR: join(dir, 'services'),
    POWERVIEW_PG_PORT: String(ports[0]),
    POWERVIEW_INFLUX_PORT: String(ports[1]),
    POWERVIEW_INFLUX_RPC_PORT: String(ports[2]),
    POWERVIEW_PROM_PORT: String(ports[3]),
    POWERVIEW_SKIP_INSTALL: '1',
  });
  const run = (args: string[], extra: Record<string, string> = {}): Run => {
    const r = spawnSync(script, args, { env: { ...env, ...extra }, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  return { dir, ports, run };
}

const line = (name: string, state: string, pid: string, address: string) =>
  `${name.padEnd(11)} ${state.padEnd(8)} pid ${pid.padEnd(8)} ${address}`;

function statusOf(out: string): Map<string, { state: string; pid: string }> {
  const rows = new Map<string, { state: string; pid: string }>();
  for (const m of out.matchAll(/^(\S+) +(running|stopped) +pid (\d+|-) +\S+$/gm)) {
    rows.set(m[1], { state: m[2], pid: m[3] });
  }
  return rows;
}

t.test('env prints one export line per variable, shell-quoted, password percent-encoded', async (t) => {
  const { dir, ports, run } = await sandbox();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = run(['env']);
  t.equal(r.code, 0);
  t.equal(
    r.stdout,
    [
      `export INFLUX_URL=http://127.0.0.1:${ports[1]}`,
      'export INFLUX_API=v1',
      'export INFLUX_USERNAME=admin',
      'export INFLUX_PASSWORD=powerview',
      `export DATABASE_URL=postgres://postgres:powerview@127.0.0.1:${ports[0]}/powerview`,
      `export PROMETHEUS_URL=http://127.0.0.1:${ports[3]}`,
      '',
    ].join('\n'),
  );
  const odd = run(['env'], { POWERVIEW_PG_PASSWORD: "p@ss w'rd" }).stdout;
  t.match(odd, `export DATABASE_URL=postgres://postgres:p%40ss%20w%27rd@127.0.0.1:${ports[0]}/powerview\n`);
  t.match(run(['env'], { POWERVIEW_INFLUX_PASSWORD: 'a b$c' }).stdout, 'export INFLUX_PASSWORD=a\\ b\\$c\n');
});

t.test('status lists the three services as stopped, in fixed columns, when nothing was started', async (t) => {
  const { dir, ports, run } = await sandbox();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = run(['status']);
  t.equal(r.code, 0);
  t.equal(
    r.stdout,
    [
      line('postgres', 'stopped', '-', `127.0.0.1:${ports[0]}`),
      line('influxdb', 'stopped', '-', `http://127.0.0.1:${ports[1]}`),
      line('prometheus', 'stopped', '-', `http://127.0.0.1:${ports[3]}`),
      '',
    ].join('\n'),
  );
});

t.test('unknown commands and services exit 2, malformed settings exit 1', async (t) => {
  const { dir, run } = await sandbox();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const badCommand = run(['frobnicate']);
  t.equal(badCommand.code, 2);
  t.match(badCommand.stderr, /^usage: ops\/services\.sh COMMAND/);
  const badService = run(['start', 'mysql']);
  t.equal(badService.code, 2);
  t.match(badService.stderr, '[services] error: unknown service "mysql" (postgres, influxdb, prometheus)');
  const badPort = run(['status'], { POWERVIEW_PG_PORT: 'abc' });
  t.equal(badPort.code, 1);
  t.match(badPort.stderr, "[services] error: POWERVIEW_PG_PORT must be a number, got 'abc'");
  t.equal(run(['help']).code, 0);
});

t.test('up twice, a stale pid file, down, up again', { skip: servicesSkip, timeout: 110_000 }, async (t) => {
  const { dir, run } = await sandbox();
  const state = join(dir, 'services');
  t.teardown(() => {
    run(['down']);
    rmSync(dir, { recursive: true, force: true });
  });
  const running = (out: string) => [...statusOf(out).values()].every((s) => s.state === 'running');

  const up1 = run(['up']);
  t.equal(up1.code, 0, 'up exits 0', { stderr: up1.stderr });
  t.ok(running(up1.stdout), 'up ends with a status of three running services');
  t.match(up1.stderr, "[services] influxdb: created admin user 'admin'");

  const up2 = run(['up']);
  t.equal(up2.code, 0, 'up again exits 0', { stderr: up2.stderr });
  t.same(statusOf(up2.stdout), statusOf(up1.stdout), 'up again leaves the same processes running');
  t.equal(up2.stderr.match(/already running/g)?.length, 3);

  // influxd killed: its pid file stays behind, naming a dead process
  const influxPid = Number(readFileSync(join(state, 'influxdb', 'influxd.pid'), 'utf8'));
  process.kill(influxPid, 'SIGKILL');
  await new Promise((ok) => setTimeout(ok, 300));
  t.equal(statusOf(run(['status']).stdout).get('influxdb')?.state, 'stopped', 'a dead pid is not running');
  const up3 = run(['up']);
  t.equal(up3.code, 0, 'up after a kill exits 0', { stderr: up3.stderr });
  t.match(up3.stderr, '[services] influxdb: starting on');
  t.ok(running(up3.stdout), 'up starts it again');

  const down = run(['down']);
  t.equal(down.code, 0, 'down exits 0', { stderr: down.stderr });
  t.match(down.stderr, /prometheus: stopped[\s\S]*influxdb: stopped[\s\S]*postgres: stopped/);
  t.ok([...statusOf(run(['status']).stdout).values()].every((s) => s.state === 'stopped'));
  t.match(run(['down']).stderr, /prometheus: not running[\s\S]*influxdb: not running[\s\S]*postgres: not running/);

  // a pid file naming a live process that is not prometheus (a reused pid)
  writeFileSync(join(state, 'prometheus', 'prometheus.pid'), `${process.pid}\n`);
  t.equal(statusOf(run(['status']).stdout).get('prometheus')?.state, 'stopped', 'a reused pid is not running');

  const up4 = run(['up']);
  t.equal(up4.code, 0, 'up after down exits 0', { stderr: up4.stderr });
  t.ok(running(up4.stdout), 'up after down starts all three');
  t.notMatch(up4.stderr, 'initdb', 'the cluster is kept across down/up');
});

t.test('reset keeps a POWERVIEW_SERVICES_DIR that holds files the script did not write', async (t) => {
  const { dir, run } = await sandbox();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'services', 'postgres'), { recursive: true });
  writeFileSync(join(dir, 'services', 'notes.txt'), 'mine\n');
  const refused = run(['reset']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, 'refusing to delete');
  t.ok(existsSync(join(dir, 'services', 'notes.txt')), 'the foreign file is still there');
  rmSync(join(dir, 'services', 'notes.txt'));
  t.equal(run(['reset']).code, 0);
  t.notOk(existsSync(join(dir, 'services')), 'a dir holding only service dirs is deleted');
});
