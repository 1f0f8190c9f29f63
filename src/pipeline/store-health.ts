import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';

export type StoreName = 'influxdb' | 'postgres';

/**
 * What keeps ingestion waiting on a store right now (serve): "credentials
 * refused" while InfluxDB or PostgreSQL refuses the login. Set by the writer's
 * and the commit's retries, cleared by the next request the store accepts.
 * /readyz reports it, `powerview_store_refused` says it to Prometheus, and each
 * change is one log line: an error when it starts, info when it is over.
 */
export class StoreHealth {
  private readonly problems = new Map<StoreName, string>();

  constructor(
    private readonly log?: Logger,
    private readonly metrics?: Metrics,
  ) {}

  /** The store refused the credentials (or a database it needs): files stay in place, retried with backoff. */
  refused(store: StoreName, cause: string, detail: string): void {
    if (this.problems.get(store) === cause) return;
    this.problems.set(store, cause);
    this.metrics?.storeRefused.set({ store }, 1);
    this.log?.error(
      { event: 'store_refused', store, cause, detail },
      `${store === 'influxdb' ? 'InfluxDB' : 'PostgreSQL'} ${cause}: ingestion waits, files stay in place, retried ` +
        `with backoff`,
    );
  }

  /** The store accepted a request: whatever it refused before is over. */
  ok(store: StoreName): void {
    const cause = this.problems.get(store);
    if (cause === undefined) return;
    this.problems.delete(store);
    this.metrics?.storeRefused.set({ store }, 0);
    this.log?.info(
      { event: 'store_resumed', store, was: cause },
      `${store === 'influxdb' ? 'InfluxDB' : 'PostgreSQL'} accepts the credentials again: ingestion resumes`,
    );
  }

  problem(store: StoreName): string | null {
    return this.problems.get(store) ?? null;
  }
}
