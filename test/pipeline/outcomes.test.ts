/** The run's exit code from its outcome (outcomes.ts EXIT_CODES): one row per outcome, first match wins. */
import t from 'tap';
import { ErrorCodes, StoreError } from '../../src/errors.js';
import { EXIT_CODES, errorOf, exitCodeOf, storeOwned } from '../../src/pipeline/outcomes.js';

const unavailable = new StoreError(ErrorCodes.STORE_UNAVAILABLE, 'InfluxDB unavailable');
const auth = new StoreError(ErrorCodes.STORE_AUTH, 'credentials refused');

t.test('exit codes by outcome', async (t) => {
  const rows: Array<[string, Parameters<typeof exitCodeOf>[0], number]> = [
    ['all good', { storeFailure: null, filesFailed: 0, finishFailed: false }, 0],
    ['a file failed', { storeFailure: null, filesFailed: 2, finishFailed: false }, 1],
    ['a file could not be finished', { storeFailure: null, filesFailed: 0, finishFailed: true }, 1],
    ['a store to wait for: run again later', { storeFailure: unavailable, filesFailed: 3, finishFailed: false }, 3],
    ['a store that needs a fix first', { storeFailure: auth, filesFailed: 3, finishFailed: false }, 2],
  ];
  for (const [name, outcome, code] of rows) t.equal(exitCodeOf(outcome), code, name);
  t.equal(EXIT_CODES[EXIT_CODES.length - 1].code, 0, 'the last row matches everything');
});

t.test("a store's failure is the store's; the report keeps the first line", async (t) => {
  const e = errorOf(new StoreError(ErrorCodes.STORE_UNAVAILABLE, 'gone\nstack'));
  t.same(e, { code: ErrorCodes.STORE_UNAVAILABLE, message: 'gone' });
  t.ok(storeOwned(e));
  t.ok(storeOwned(errorOf(auth)));
  t.notOk(storeOwned({ code: ErrorCodes.VERIFY_MISMATCH, message: 'x' }));
  t.notOk(storeOwned(null));
});
