import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, FileFormatError, PowerViewError, UsageError } from '../src/errors.js';
import { projectRoot } from './helpers.js';

t.test('every error code is documented in docs/errors.md, and nothing else is', async (t) => {
  const doc = readFileSync(join(projectRoot, 'docs', 'errors.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/`(PV_ERR_[A-Z_]+)`/g)].map((m) => m[1]));
  t.same([...documented].sort(), Object.values(ErrorCodes).sort());
});

t.test('error classes carry stable codes and fields', async (t) => {
  const table: Array<[PowerViewError, string, string]> = [
    [new UsageError('no PATH'), 'PV_ERR_USAGE', 'UsageError'],
    [new UsageError('bad zone', ErrorCodes.TIMEZONE), 'PV_ERR_TIMEZONE', 'UsageError'],
    [new FileFormatError(ErrorCodes.UNKNOWN_FORMAT, 'unsupported format "X"', 2), 'PV_ERR_UNKNOWN_FORMAT', 'FileFormatError'],
  ];
  for (const [err, code, name] of table) {
    t.equal(err.code, code);
    t.equal(err.name, name);
    t.ok(err instanceof PowerViewError && err instanceof Error);
  }
  t.equal((table[2][0] as FileFormatError).line, 2);
});
