import type { Pool } from 'pg';
import { errorMessage } from '../errors.js';
import type { InfluxHttp } from '../influx/http-api.js';
import type { StoreHealth } from '../pipeline/store-health.js';
import { failureOwner } from '../postgres/errors.js';
import { assertMigrated } from '../postgres/migrate.js';
import type { Claims } from './claims.js';
import type { ClaimSource } from './scheduler.js';

/** A PostgreSQL failure that is the credentials' (a refused login): a state to wait out, reported. */
export function notePgFailure(health: StoreHealth, err: unknown): void {
  const { owner, cause } = failureOwner(err);
  if (owner === 'credentials') health.refused('postgres', cause, errorMessage(err));
}

/**
 * Claims as the scheduler takes them: a claim taken says PostgreSQL accepts the login; a refused one is a state to
 * wait out, reported (/readyz, metric, log).
 */
export function claimSource(claims: Claims, health: StoreHealth): ClaimSource {
  return {
    tryClaim: (folder) =>
      claims.tryClaim(folder).then(
        (ok) => {
          health.ok('postgres');
          return ok;
        },
        (err: unknown) => {
          notePgFailure(health, err);
          throw err;
        },
      ),
    release: (folder) => claims.release(folder),
    // the scheduler goes on with a claim it finds held: a release still lingering is called off
    isHeld: (folder) => claims.keep(folder),
  };
}

export interface ReadyState {
  ok: boolean;
  detail: Record<string, string>;
}

/**
 * `/readyz`: both stores reachable, migrations applied, the ingest job
 * running, serve not stopping. Cached one second: probes are frequent.
 */
export class Readiness {
  private last: ReadyState & { at: number } = { at: 0, ok: false, detail: {} };

  constructor(
    private readonly influxHttp: InfluxHttp,
    private readonly pool: Pool,
    private readonly health: StoreHealth,
    /** why the ingest job is not running (null: it runs), and whether serve is stopping */
    private readonly state: () => { jobDown: string | null; draining: boolean },
  ) {}

  async check(): Promise<ReadyState> {
    if (Date.now() - this.last.at < 1000) return this.last;
    const detail: Record<string, string> = {};
    const [influx, pg] = await Promise.all([
      this.influxHttp.ping(),
      assertMigrated(this.pool).then(
        () => 'ok',
        (err: unknown) => {
          notePgFailure(this.health, err);
          const { owner, cause } = failureOwner(err);
          return owner === 'credentials' ? cause : errorMessage(err);
        },
      ),
    ]);
    detail.influxdb = this.health.problem('influxdb') ?? (influx ? 'ok' : 'unreachable');
    detail.postgres = pg === 'ok' ? (this.health.problem('postgres') ?? 'ok') : pg;
    const { jobDown, draining } = this.state();
    if (jobDown) detail.ingest = jobDown;
    if (draining) detail.service = 'stopping';
    const ok = detail.influxdb === 'ok' && detail.postgres === 'ok' && !jobDown && !draining;
    this.last = { at: Date.now(), ok, detail };
    return this.last;
  }
}
