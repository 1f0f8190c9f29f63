import { countPointsV1, createDatabaseV1 } from './api-v1.js';
import { countPointsV2, createBucket, findBucket, lookupOrgId, type BucketLookup } from './api-v2.js';
import { countPointsV3, createDatabaseV3 } from './api-v3.js';
import { InfluxTransport, MAX_ERROR_BODY, type Reply } from './transport.js';

export type { Reply } from './transport.js';

/**
 * The three InfluxDB HTTP API shapes over one keep-alive undici Pool (`transport.ts`):
 * writes, database/bucket creation, and the point counts behind --verify, each by the configured API version
 * (`api-v1.ts`, `api-v2.ts`, `api-v3.ts`).
 * Network failures throw (the caller retries); HTTP statuses are returned.
 */
export class InfluxHttp extends InfluxTransport {
  private orgId: string | null = null;

  writePath(db: string, precision: 's' | 'ns' = 's'): string {
    const q = new URLSearchParams();
    switch (this.config.api) {
      case 'v1':
        q.set('db', db);
        q.set('precision', precision);
        return `${this.basePath}/write?${q}`;
      case 'v2':
        q.set('org', this.config.org!);
        q.set('bucket', db);
        q.set('precision', precision);
        return `${this.basePath}/api/v2/write?${q}`;
      case 'v3':
        q.set('db', db);
        q.set('precision', precision === 's' ? 'second' : 'nanosecond');
        return `${this.basePath}/api/v3/write_lp?${q}`;
    }
  }

  /** One write request; `gzipped` says the body is already compressed. */
  write(db: string, body: Uint8Array, gzipped: boolean, precision: 's' | 'ns' = 's'): Promise<Reply> {
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (gzipped) headers['content-encoding'] = 'gzip';
    // an InfluxDB 3 partial write lists every refused line (before 3.6 each whole): read such a reply whole
    const maxErrorBody = Math.max(MAX_ERROR_BODY, 2 * this.config.batchBytes + 150 * this.config.batchLines);
    return this.request('POST', this.writePath(db, precision), body, headers, maxErrorBody);
  }

  /** Creates the database (v1, v3) or bucket (v2) when missing; idempotent. Returns the reply that settled it. */
  async createDatabase(db: string): Promise<Reply> {
    switch (this.config.api) {
      case 'v1':
        return createDatabaseV1(this, db);
      case 'v2': {
        const orgId = await this.v2OrgId();
        return typeof orgId === 'string' ? createBucket(this, orgId, db) : orgId;
      }
      case 'v3':
        return createDatabaseV3(this, db);
    }
  }

  /** v2: the ID of INFLUX_ORG (looked up once), or the reply that failed. */
  async v2OrgId(): Promise<string | Reply> {
    if (this.orgId) return this.orgId;
    const id = await lookupOrgId(this, this.config.org!);
    if (typeof id === 'string') this.orgId = id;
    return id;
  }

  /**
   * v2: the bucket named `name` in INFLUX_ORG — `{ id, reply }` when it exists,
   * `{ absent, reply }` when not; the failed reply itself otherwise.
   */
  async v2FindBucket(name: string): Promise<BucketLookup> {
    const orgId = await this.v2OrgId();
    return typeof orgId === 'string' ? findBucket(this, orgId, name) : orgId;
  }

  /**
   * Points of one device's series in [from, to] (epoch seconds, inclusive):
   * InfluxQL (v1), Flux (v2) or SQL (v3). Returns the count, or the reply when it failed.
   */
  countPoints(
    db: string,
    measurement: string,
    tags: Record<string, string>,
    from: number,
    to: number,
  ): Promise<number | Reply> {
    const range = { db, measurement, tags, from, to };
    switch (this.config.api) {
      case 'v1':
        return countPointsV1(this, range);
      case 'v2':
        return countPointsV2(this, this.config.org!, range);
      case 'v3':
        return countPointsV3(this, range);
    }
  }
}
