import { postInfluxQL, quoteIdent, quoteString, statementError } from '../influx/api-v1.js';
import type { InfluxTransport } from '../influx/transport.js';
import { failed, refusedStatement, type InfluxReaderResult } from './influx-failure.js';

/** The statement's error, or null; a request InfluxDB did not answer with 200 throws. */
async function influxql(http: InfluxTransport, q: string, what: string): Promise<string | null> {
  const reply = await postInfluxQL(http, q);
  if (reply.status !== 200) throw failed(what, reply);
  return statementError(reply.body);
}

/**
 * InfluxDB 1.x: a non-admin user `login` with READ on database `db` only, its password (re)set. The statements
 * travel in a POST body, never in a URL that proxies would log.
 */
export async function ensureV1Reader(
  http: InfluxTransport,
  db: string,
  login: string,
  password: string,
): Promise<InfluxReaderResult> {
  const user = quoteIdent(login);
  const created = await influxql(
    http,
    `CREATE USER ${user} WITH PASSWORD ${quoteString(password)}`,
    `create user ${login}`,
  );
  if (created !== null) {
    if (!/already exists/i.test(created)) refusedStatement(`create user ${login}`, created);
    const what = `set password of ${login}`;
    refusedStatement(what, await influxql(http, `SET PASSWORD FOR ${user} = ${quoteString(password)}`, what));
  }
  const granted = await influxql(http, `GRANT READ ON ${quoteIdent(db)} TO ${user}`, `grant read on ${db}`);
  refusedStatement(`grant read on ${db} to ${login}`, granted);
  return { user: login, status: 'set' };
}
