import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, FileFormatError, PowerViewError, StoreError, TenantNameError, UsageError } from '../src/errors.js';
import { projectRoot } from './support/helpers.js';

t.test('every error code is documented in docs/errors.md, and nothing else is', async (t) => {
  const doc = readFileSync(join(projectRoot, 'docs', 'errors.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/`(PV_ERR_[A-Z_]+)`/g)].map((m) => m[1]));
  t.same([...documented].sort(), Object.values(ErrorCodes).sort());
});

t.test('error classes carry stable codes and fields', async (t) => {
  const table: Array<[PowerViewError, string, string]> = [
    [new UsageError('no PATH'), 'PV_ERR_USAGE', 'UsageError'],
    [new UsageError('bad zone', ErrorCodes.TIMEZONE), 'PV_ERR_TIMEZONE', 'UsageError'],
    [
      new FileFormatError(ErrorCodes.UNKNOWN_FORMAT, 'unsupported format "X"', 2),
      'PV_ERR_UNKNOWN_FORMAT',
      'FileFormatError',
    ],
    [new TenantNameError('company name "a b" is not a safe identifier'), 'PV_ERR_TENANT_NAME', 'TenantNameError'],
    [
      new StoreError(ErrorCodes.STORE_REJECTED, 'rejected', { status: 400, body: '{"error":"x"}', lines: ['m f=1 1'] }),
      'PV_ERR_STORE_REJECTED',
      'StoreError',
    ],
    [new StoreError(ErrorCodes.STORE_UNAVAILABLE, 'down'), 'PV_ERR_STORE_UNAVAILABLE', 'StoreError'],
  ];
  for (const [err, code, name] of table) {
    t.equal(err.code, code);
    t.equal(err.name, name);
    t.ok(err instanceof PowerViewError && err instanceof Error);
  }
  t.equal((table[2][0] as FileFormatError).line, 2);
  const rejected = table[4][0] as StoreError;
  t.equal(rejected.status, 400);
  t.same(rejected.lines, ['m f=1 1']);
  t.equal((table[5][0] as StoreError).status, 0, 'a network failure has no HTTP status');
});
