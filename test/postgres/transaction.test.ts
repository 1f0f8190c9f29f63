/**
 * withTransaction against the real PostgreSQL of ops/services.sh: a commit is
 * visible, a failure rolls back and rethrows the failure itself, and a
 * connection lost mid-transaction rethrows the connection's error (not the
 * failed ROLLBACK's).
 */
import t from 'tap';
import { withTransaction } from '../../src/postgres/db.js';
import { servicesSkip } from '../support/services.js';
import { testDatabase } from '../support/postgres-db.js';

t.setTimeout(120_000);

t.test('withTransaction', { skip: servicesSkip }, async (t) => {
  const db = await testDatabase(t, 'tx');
  await db.pool.query('CREATE TABLE tx_rows (x int PRIMARY KEY)');
  const rows = async (): Promise<number[]> =>
    (await db.pool.query<{ x: number }>('SELECT x FROM tx_rows ORDER BY x')).rows.map((r) => r.x);

  t.test('a commit is visible to other sessions, with the value fn returned', async (t) => {
    const client = await db.pool.connect();
    try {
      const out = await withTransaction(client, async (c) => {
        await c.query('INSERT INTO tx_rows VALUES (1), (2)');
        t.same(await rows(), [], 'not visible before COMMIT');
        return 'done';
      });
      t.equal(out, 'done');
    } finally {
      client.release();
    }
    t.same(await rows(), [1, 2]);
  });

  t.test('an error rolls back and rethrows the original error', async (t) => {
    const client = await db.pool.connect();
    const boom = new Error('boom');
    let rollbackFailed = false;
    try {
      const err = await withTransaction(
        client,
        async (c) => {
          await c.query('INSERT INTO tx_rows VALUES (3)');
          throw boom;
        },
        { onRollbackError: () => (rollbackFailed = true) },
      ).catch((e: unknown) => e);
      t.equal(err, boom, 'the very error fn threw');
      t.equal(rollbackFailed, false);
      // in a transaction of its own, a statement's now() is its own start time: no transaction was left open
      const state = await client.query<{ own: boolean }>('SELECT now() = statement_timestamp() AS own');
      t.equal(state.rows[0].own, true, 'the client is back outside any transaction');
      const sqlErr = await withTransaction(client, (c) => c.query('INSERT INTO tx_rows VALUES (1)')).catch(
        (e: unknown) => e,
      );
      t.equal((sqlErr as { code?: string }).code, '23505', 'a server error keeps its SQLSTATE');
    } finally {
      client.release();
    }
    t.same(await rows(), [1, 2], 'nothing of the failed transactions is kept');
  });

  t.test('a lost connection mid-transaction rethrows the connection error', async (t) => {
    const client = await db.pool.connect();
    const heard: Error[] = [];
    // a checked-out client has no pool listener: the backend's end is an 'error' event
    client.on('error', (e) => heard.push(e));
    let rollbackError: unknown;
    try {
      const err = await withTransaction(
        client,
        async (c) => {
          await c.query('INSERT INTO tx_rows VALUES (4)');
          const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
          await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
          await c.query('INSERT INTO tx_rows VALUES (5)');
        },
        { onRollbackError: (e) => (rollbackError = e) },
      ).catch((e: unknown) => e);
      t.ok(err instanceof Error, 'rejected');
      t.not(err, rollbackError, 'not the ROLLBACK failure');
      // the INSERT meets either the terminated socket or the client pg already marked broken by it
      t.match(String((err as Error).message), /terminat|connection error/i, (err as Error).message);
      t.ok(rollbackError, 'the ROLLBACK failed too, and was reported apart');
    } finally {
      client.release(true);
    }
    t.same(await rows(), [1, 2], 'the lost transaction left nothing');
  });
});
