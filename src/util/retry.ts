/**
 * The one retry policy: capped exponential backoff with jitter, and the named
 * schedules every store call and restart uses. Who owns which error (the file,
 * the store, the credentials) is decided by each store's classifier
 * (`src/postgres/errors.ts`, `src/influx/replies.ts`); how long to wait between
 * attempts is decided here, so that the four loops cannot drift apart again.
 */

export interface Backoff {
  /** first delay, doubled per attempt */
  readonly baseMs: number;
  /** cap of the doubled delay */
  readonly maxMs: number;
}

/** The schedules, by what is retried. Frozen: tune them here, nowhere else. */
export const BACKOFF = Object.freeze({
  /** an InfluxDB write (429/503/5xx/network); Retry-After is honoured on top */
  influxWrite: Object.freeze({ baseMs: 250, maxMs: 5000 }),
  /** a PostgreSQL statement of the ingest path (connection lost, serialization, refused credentials) */
  postgres: Object.freeze({ baseMs: 250, maxMs: 5000 }),
  /** a claim PostgreSQL could not take (unreachable) */
  claim: Object.freeze({ baseMs: 500, maxMs: 10_000 }),
  /** a file left in place because a store or its claim failed: taken again later */
  fileRetry: Object.freeze({ baseMs: 1000, maxMs: 30_000 }),
  /** serve's ingest job restarted after it died, and tenant provisioning retried */
  restart: Object.freeze({ baseMs: 1000, maxMs: 30_000 }),
} satisfies Record<string, Backoff>);

/**
 * Delay before the `attempt`-th retry (0-based): base, 2 × base, 4 × base … up
 * to the cap, then a random point in its upper half so that clients retrying
 * together spread out.
 */
export function backoffDelay(policy: Backoff, attempt: number): number {
  const backoff = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 20));
  return backoff / 2 + Math.random() * (backoff / 2);
}

/** Resolves after `ms`; the timer does not keep the process alive when `unref` is set. */
export function sleep(ms: number, unref = false): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    if (unref) t.unref();
  });
}
