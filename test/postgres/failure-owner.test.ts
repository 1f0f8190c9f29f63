import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PG_FAILURE_OWNERS, failureOwner, toDatabaseError } from '../../src/postgres/errors.js';
import { projectRoot } from '../support/helpers.js';

t.test("store failures are the store's, data errors the file's, refused logins a state to wait out", async (t) => {
  const table: Array<[unknown, string]> = [
    [{ code: '57014', message: 'canceling statement due to user request' }, 'store'],
    [{ code: '55P03', message: 'lock timeout' }, 'store'],
    [{ code: '40001', message: 'could not serialize access' }, 'store'],
    [{ code: '40P01', message: 'deadlock detected' }, 'store'],
    [{ code: '53100', message: 'could not extend file: No space left on device' }, 'store'],
    [{ code: '53200', message: 'out of memory' }, 'store'],
    [{ code: '53300', message: 'too many connections' }, 'store'],
    [{ code: '25006', message: 'cannot execute INSERT in a read-only transaction' }, 'store'],
    [{ code: '57P01', message: 'terminating connection due to administrator command' }, 'store'],
    [{ code: '57P02', message: 'crash shutdown' }, 'store'],
    [{ code: '57P03', message: 'the database system is starting up' }, 'store'],
    [{ code: '08006', message: 'connection failure' }, 'store'],
    [{ code: '08P01', message: 'protocol violation' }, 'store'],
    [{ code: '42501', message: 'permission denied for table files' }, 'store'],
    [{ code: 'XX000', message: 'internal error' }, 'store'],
    [{ code: 'ECONNRESET', message: 'read ECONNRESET' }, 'store'],
    [new Error('Connection terminated unexpectedly'), 'store'],
    [new Error('timeout exceeded when trying to connect'), 'store'],
    [{ code: '28P01', message: 'password authentication failed for user "x"' }, 'credentials'],
    [{ code: '28000', message: 'no pg_hba.conf entry' }, 'credentials'],
    [{ code: '22P02', message: 'invalid input syntax for type double precision' }, 'file'],
    [{ code: '22003', message: 'numeric value out of range' }, 'file'],
    [{ code: '23505', message: 'duplicate key value violates unique constraint' }, 'file'],
    [{ code: '54000', message: 'index row size exceeds maximum' }, 'file'],
    [new RangeError('Invalid array length'), 'file'],
  ];
  for (const [err, owner] of table)
    t.equal(failureOwner(err).owner, owner, `${(err as { code?: string }).code ?? (err as Error).message} → ${owner}`);
  // the wrapped form says the same as the raw one
  t.equal(
    failureOwner(toDatabaseError({ code: '28P01', message: 'password authentication failed' }, 'connect')).owner,
    'credentials',
  );
  t.equal(failureOwner(toDatabaseError({ code: '57014', message: 'canceling statement' }, 'commit')).owner, 'store');
  t.equal(failureOwner(toDatabaseError({ code: '22P02', message: 'bad value' }, 'commit')).owner, 'file');
});

t.test('docs/errors.md holds the same ownership table as the code', async (t) => {
  const doc = readFileSync(join(projectRoot, 'docs', 'errors.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Whose failure is it'));
  t.ok(section.length > 30, 'the section exists');
  const rows = [...section.matchAll(/^\| (`[0-9A-Zx]{5}`(?:, `[0-9A-Zx]{5}`)*) \| (file|credentials|store) \|/gm)].map(
    (m) => `${m[1].replace(/`/g, '')} ${m[2]}`,
  );
  const code = PG_FAILURE_OWNERS.map((r) => `${r.sqlStates.join(', ')} ${r.owner}`);
  t.same(rows, code, 'one row per rule, same order, same owner');
});
