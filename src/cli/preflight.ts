import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { join } from 'node:path';
import type { InfluxConfig } from '../influx/config.js';
import type { PgConfig } from '../postgres/config.js';

/** ops/services.sh runs the stores on ports of its own: its `env` points the variables at them */
const ENV_HINT = ' (`eval "$(ops/services.sh env)"` sets it for the services ops/services.sh runs)';

/** How long one reachability check waits for the TCP handshake. */
export const PREFLIGHT_TIMEOUT_MS = 3000;

export interface StoreAbsent {
  store: 'InfluxDB' | 'PostgreSQL';
  /** where it was looked for: a URL for InfluxDB, host:port (never the password) for PostgreSQL */
  address: string;
  /** one line a newcomer can act on: what happened and the fix */
  message: string;
}

/**
 * Checks once, at start, that each configured store accepts a TCP connection. A store that is
 * absent would otherwise be retried for the whole store wait (ten minutes by default) behind a
 * progress bar: a run that cannot write anything fails in seconds instead, naming the fix
 * (docs/architecture.md: a store that is down mid-run is waited for; one never up is a setup error).
 */
export async function preflight(
  influx: Readonly<InfluxConfig>,
  pg: PgConfig | null,
  timeoutMs = PREFLIGHT_TIMEOUT_MS,
): Promise<StoreAbsent | null> {
  const url = new URL(influx.url);
  const influxPort = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const checks: Array<Promise<StoreAbsent | null>> = [
    reach({ host: url.hostname.replace(/^\[|\]$/g, ''), port: influxPort }, timeoutMs).then((problem) =>
      problem
        ? absent('InfluxDB', influx.url, problem, `start it (\`ops/services.sh up\`) or set INFLUX_URL${ENV_HINT}`)
        : null,
    ),
  ];
  if (pg)
    checks.push(
      preflightPostgres(
        pg,
        timeoutMs,
        `start it (\`ops/services.sh up\`), fix ${pg.source}${ENV_HINT} or --no-postgres`,
      ),
    );
  const results = await Promise.all(checks);
  return results.find((r) => r !== null) ?? null;
}

function absent(store: StoreAbsent['store'], address: string, problem: string, fix: string): StoreAbsent {
  return { store, address, message: `${store} at ${address} ${problem}: ${fix}` };
}

type Target = { host: string; port: number } | { path: string };

/** null when the handshake succeeds, else what went wrong in words ("refused the connection"). */
function reach(target: Target, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ ...target, timeout: timeoutMs } as NetConnectOpts);
    const done = (problem: string | null) => {
      socket.destroy();
      resolve(problem);
    };
    socket.once('connect', () => done(null));
    socket.once('timeout', () => done(`did not answer within ${Math.round(timeoutMs / 1000)} s`));
    socket.once('error', (err: NodeJS.ErrnoException) => done(describe(err)));
  });
}

function describe(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'refused the connection';
    case 'ENOENT':
      return 'has no socket file';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'is not a known host name';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'cannot be reached (no route)';
    default:
      return `cannot be reached (${err.code ?? err.message})`;
  }
}

/** PostgreSQL alone (commands that need no InfluxDB, e.g. `powerview report`): null when it accepts a connection. */
export async function preflightPostgres(
  pg: PgConfig,
  timeoutMs = PREFLIGHT_TIMEOUT_MS,
  fix = `start it (\`ops/services.sh up\`) or fix ${pg.source}${ENV_HINT}`,
): Promise<StoreAbsent | null> {
  const socket = pg.host.startsWith('/');
  const address = socket ? join(pg.host, `.s.PGSQL.${pg.port}`) : `${pg.host}:${pg.port}`;
  const problem = await reach(socket ? { path: address } : { host: pg.host, port: pg.port }, timeoutMs);
  return problem ? absent('PostgreSQL', address, problem, fix) : null;
}
