import type { InfluxHttp } from '../influx/http-api.js';
import { failed, type InfluxReaderResult } from './influx-failure.js';
import { ensureV1Reader } from './reader-v1.js';
import { ensureV2Reader } from './reader-v2.js';
import { ensureV3Reader } from './reader-v3.js';
import type { TokenVault } from './token-vault.js';

export type { InfluxReaderResult } from './influx-failure.js';

/**
 * The tenant's read credentials, `login` + `password`, which Grafana's InfluxQL
 * datasource uses as user and password — run again, it ends in the same state:
 *  - 1.x: a non-admin user with READ on database `db` only (`reader-v1.ts`).
 *  - 2.x: a v1-compatible authorization with read on the bucket (`reader-v2.ts`).
 *  - 3.x: an Enterprise resource token, kept in `vault` (`reader-v3.ts`); none on Core.
 */
export async function ensureInfluxReader(
  http: InfluxHttp,
  db: string,
  login: string,
  password: string,
  vault?: TokenVault,
): Promise<InfluxReaderResult> {
  switch (http.config.api) {
    case 'v1':
      return ensureV1Reader(http, db, login, password);
    case 'v2':
      return ensureV2Reader(http, db, login, password);
    case 'v3':
      return vault ? ensureV3Reader(http, db, login, vault) : { user: null, status: 'skipped' };
  }
}

/** Creates the tenant's database (v1, v3) or bucket (v2) when missing. */
export async function ensureInfluxDatabase(http: InfluxHttp, db: string): Promise<void> {
  const reply = await http.createDatabase(db);
  if (reply.status >= 300) throw failed(`create database ${db}`, reply);
}
