import type { Pool } from 'pg';
import { resolveThresholds, type Thresholds } from '../quality/thresholds.js';

/** The tenants' data-quality thresholds in PostgreSQL (docs/reports.md#quality-rules). */

/** A tenant's thresholds (core.quality_thresholds over the defaults), read once per run. */
export class ThresholdCache {
  private readonly tenants = new Map<string, Promise<Thresholds>>();

  constructor(
    private readonly pool: Pool,
    private readonly retry: <T>(call: () => Promise<T>) => Promise<T> = (call) => call(),
    private readonly onWarning: (message: string) => void = () => {},
  ) {}

  get(tenant: string): Promise<Thresholds> {
    let p = this.tenants.get(tenant);
    if (!p) {
      p = this.retry(() => loadThresholds(this.pool, tenant)).then(({ thresholds, warnings }) => {
        for (const w of warnings) this.onWarning(`tenant ${tenant}: ${w}`);
        return thresholds;
      });
      // a failed read is tried again by the next file
      p.catch(() => this.tenants.delete(tenant));
      this.tenants.set(tenant, p);
      // bounded like the store's other caches: a forgotten tenant costs one query again
      if (this.tenants.size > 10_000) this.tenants.delete(this.tenants.keys().next().value!);
    }
    return p;
  }
}

export async function loadThresholds(pool: Pool, tenant: string) {
  const r = await pool.query<{ parameter: string; value: number }>(
    'SELECT parameter, value FROM core.quality_thresholds WHERE tenant = $1 ORDER BY parameter',
    [tenant],
  );
  return resolveThresholds(r.rows);
}
