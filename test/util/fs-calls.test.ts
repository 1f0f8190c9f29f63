import t from 'tap';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputFile } from '../../src/util/input-file.js';
import { lstatOrNull, statOrNull } from '../../src/util/fs-meta.js';

t.test('an input file is sized at open, read whole or by position, closed once', async (t) => {
  const dir = t.testdir({ 'a.tsv': 'abcdefghij', 'empty.tsv': '' });
  const f = InputFile.open(join(dir, 'a.tsv'));
  t.equal(f.size, 10);
  t.equal((await f.readAll()).toString(), 'abcdefghij');
  const buf = Buffer.alloc(4);
  t.equal(await f.read(buf, 1, 3, 6), 3, 'three bytes at position 6');
  t.equal(buf.subarray(1).toString(), 'ghi');
  t.equal(await f.read(buf, 0, 4, 10), 0, 'nothing past the end');
  f.close();
  f.close();
  await t.rejects(f.read(buf, 0, 1, 0), /closed/, 'a closed file refuses reads');
  const e = InputFile.open(join(dir, 'empty.tsv'));
  t.equal((await e.readAll()).length, 0);
  e.close();
  t.throws(() => InputFile.open(join(dir, 'missing.tsv')), { code: 'ENOENT' });
});

t.test('the whole file is what was there when it was sized', async (t) => {
  const dir = t.testdir({ 'grows.tsv': '12345' });
  const f = InputFile.open(join(dir, 'grows.tsv'));
  writeFileSync(join(dir, 'grows.tsv'), '1234567890');
  t.equal((await f.readAll()).toString(), '12345', 'bytes appended after the open are not read');
  f.close();
});

t.test('metadata look-ups answer null for nothing there, and tell a symlink', async (t) => {
  const dir = t.testdir({ 'f.tsv': 'x' });
  mkdirSync(join(dir, 'd'));
  symlinkSync(join(dir, 'f.tsv'), join(dir, 'link.tsv'));
  t.equal(lstatOrNull(join(dir, 'nothing')), null);
  t.equal(lstatOrNull(join(dir, 'f.tsv', 'below-a-file')), null, 'ENOTDIR is nothing there too');
  t.ok(lstatOrNull(join(dir, 'link.tsv'))?.isSymbolicLink(), 'lstat sees the link');
  t.ok(statOrNull(join(dir, 'link.tsv'))?.isFile(), 'stat follows it');
  t.ok(statOrNull(join(dir, 'd'))?.isDirectory());
  t.equal(statOrNull(join(dir, 'nothing')), null);
});
