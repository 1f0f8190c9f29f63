/**
 * The COPY text encoder: what PostgreSQL reads back from each field
 * (COPY … FROM STDIN, text format: tab between columns, newline between rows,
 * backslash escapes, \N for NULL).
 */
import t from 'tap';
import { copyChunks, copyField, copyNumber, copyRow } from '../../src/postgres/copy-encoder.js';

/** PostgreSQL's reading of one text-format field: \N is NULL, backslash sequences unescaped. */
function readField(text: string): string | null {
  if (text === '\\N') return null;
  const escapes: Record<string, string> = { t: '\t', n: '\n', r: '\r', '\\': '\\' };
  return text.replace(/\\(.)/g, (_, c: string) => escapes[c] ?? c);
}

t.test('text: tabs, newlines, carriage returns and backslashes are escaped', async (t) => {
  const cases: Array<[string, string]> = [
    ['plain', 'plain'],
    ['a\tb', 'a\\tb'],
    ['line 1\nline 2', 'line 1\\nline 2'],
    ['cr\r\n', 'cr\\r\\n'],
    ['C:\\data\\x', 'C:\\\\data\\\\x'],
    ['\\N', '\\\\N'],
    ['\\t', '\\\\t'],
    ['', ''],
    ['é §µ 🌞', 'é §µ 🌞'],
  ];
  for (const [value, encoded] of cases) {
    t.equal(copyField(value), encoded, JSON.stringify(value));
    t.equal(readField(copyField(value)), value, `${JSON.stringify(value)} reads back`);
    t.notMatch(copyField(value), /[\t\n\r]/, 'no raw delimiter left');
  }
});

t.test('NULL: null is \\N, the text "\\N" is not', async (t) => {
  t.equal(copyField(null), '\\N');
  t.equal(readField(copyField(null)), null);
  t.equal(readField(copyField('\\N')), '\\N');
});

t.test('numbers: finite as JavaScript prints them, NaN and ±Infinity NULL, -0 as 0', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '0'],
    [-0, '0'],
    [42, '42'],
    [-1.5, '-1.5'],
    [0.1 + 0.2, '0.30000000000000004'],
    [1e21, '1e+21'],
    [5e-324, '5e-324'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    [NaN, '\\N'],
    [Infinity, '\\N'],
    [-Infinity, '\\N'],
  ];
  for (const [value, encoded] of cases) {
    t.equal(copyNumber(value), encoded, String(value));
    t.equal(copyField(value), encoded, `${value} as a field`);
  }
  // what PostgreSQL's float8in reads back from the finite forms is the same double
  for (const v of [0.1 + 0.2, 1e21, 5e-324, -1.5]) t.equal(Number(copyNumber(v)), v, `${v} round-trips`);
});

t.test('rows and chunks', async (t) => {
  t.equal(copyRow(['a\tb', 1, null, NaN]), 'a\\tb\t1\t\\N\t\\N');
  t.same([...copyChunks([])], [], 'no rows, no chunk');
  t.same([...copyChunks(['a', 'b'])], ['a\nb\n'], 'small rows share one chunk');
  const chunks = [...copyChunks(['aaaa', 'bbbb', 'cccc'], 8)];
  t.same(chunks, ['aaaa\nbbbb\n', 'cccc\n'], 'a chunk is cut once it reaches the size');
  t.equal(chunks.join(''), 'aaaa\nbbbb\ncccc\n', 'every row ends with a newline');
});
