import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliPath, projectRoot } from './helpers.js';

/** The local services of ops/services.sh, for integration tests. */
export const servicesScript = join(projectRoot, 'ops', 'services.sh');

/** Set POWERVIEW_SKIP_SERVICES=1 to skip the tests that need real services. */
export const servicesSkip =
  process.env.POWERVIEW_SKIP_SERVICES === '1' ? 'POWERVIEW_SKIP_SERVICES=1: real-service tests skipped' : false;

let cachedEnv: Record<string, string> | null = null;
const lockDir = join(projectRoot, '.powerview', 'test-services.lock');

function lockHolder(): number | null {
  try {
    return Number(readFileSync(join(lockDir, 'pid'), 'utf8')) || null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Test files run in parallel processes, and some stop and start InfluxDB:
 * the files that use the services take them one at a time (a lock folder
 * with the holder's pid; a dead holder's lock is taken over).
 */
async function lockServices(): Promise<void> {
  mkdirSync(dirname(lockDir), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      process.on('exit', () => rmSync(lockDir, { recursive: true, force: true }));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder();
      if (holder !== null && !alive(holder)) rmSync(lockDir, { recursive: true, force: true });
      else await sleep(200);
    }
  }
}

/** Starts the services (idempotent), holds them for this test process, returns the environment pointing at them. */
export async function servicesUp(): Promise<Record<string, string>> {
  if (cachedEnv) return cachedEnv;
  await lockServices();
  execFileSync(servicesScript, ['up'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
  cachedEnv = servicesEnv();
  return cachedEnv;
}

export function servicesEnv(): Record<string, string> {
  const out = execFileSync(servicesScript, ['env'], { encoding: 'utf8' });
  const env: Record<string, string> = {};
  for (const m of out.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)) env[m[1]] = m[2].replace(/^['"]|['"]$/g, '');
  return env;
}

export function serviceCtl(command: 'start' | 'stop' | 'restart', name: 'influxdb' | 'postgres' | 'prometheus'): void {
  execFileSync(servicesScript, [command, name], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
}

/** InfluxQL over the 1.x HTTP API with the admin credentials. */
export async function influxQuery(env: Record<string, string>, db: string, q: string): Promise<InfluxQLResult> {
  const url = new URL('/query', env.INFLUX_URL);
  url.searchParams.set('db', db);
  url.searchParams.set('epoch', 's');
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${env.INFLUX_USERNAME}:${env.INFLUX_PASSWORD}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ q }).toString(),
  });
  const body = (await res.json()) as { results?: InfluxQLResult[]; error?: string };
  if (!res.ok || body.error) throw new Error(`InfluxQL ${q}: HTTP ${res.status} ${body.error ?? ''}`);
  const result = body.results![0];
  if (result.error) throw new Error(`InfluxQL ${q}: ${result.error}`);
  return result;
}

export interface InfluxQLResult {
  error?: string;
  series?: Array<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }>;
}

/**
 * Every point of `measurement` in `db` as `series-key field time → value`
 * (series key: measurement and sorted tags, as in line protocol).
 */
export async function pointsOf(
  env: Record<string, string>,
  db: string,
  measurement = 'electrical',
): Promise<Map<string, number>> {
  const r = await influxQuery(env, db, `SELECT * FROM "${measurement}" GROUP BY *`);
  const out = new Map<string, number>();
  for (const s of r.series ?? []) {
    const tags = Object.entries(s.tags ?? {})
      .filter(([, v]) => v !== '')
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    for (const row of s.values) {
      s.columns.forEach((col, i) => {
        if (col === 'time' || row[i] === null) return;
        out.set(`${s.name},${tags} ${col} ${row[0]}`, Number(row[i]));
      });
    }
  }
  return out;
}

/** Splits a line-protocol line on unescaped spaces and unescapes each tag value, into the keys of pointsOf. */
export function pointsOfLp(lp: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of lp.split('\n')) {
    if (!line) continue;
    const parts: string[] = [];
    let cur = '';
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (c === '\\' && i + 1 < line.length) {
        cur += c + line[++i];
      } else if (c === ' ' && parts.length < 2) {
        parts.push(cur);
        cur = '';
      } else cur += c;
    }
    parts.push(cur);
    const [series, fieldSet, time] = parts;
    const pieces = series.split(/(?<!\\),/).map((p) => p.replace(/\\([ ,=\\])/g, '$1'));
    const eq = fieldSet.lastIndexOf('=');
    const field = fieldSet.slice(0, eq).replace(/\\([ ,=\\])/g, '$1');
    out.set(`${pieces.join(',')} ${field} ${time}`, Number(fieldSet.slice(eq + 1)));
  }
  return out;
}

export async function dropDatabase(env: Record<string, string>, db: string): Promise<void> {
  await influxQuery(env, db, `DROP DATABASE "${db}"`);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with the services' environment (plus `extra`), collecting its output. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  extra: Record<string, string> = {},
  cwd = projectRoot,
): Promise<CliResult> & { child: ReturnType<typeof spawn> } {
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd,
    env: { ...process.env, ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d));
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return Object.assign(done, { child });
}
