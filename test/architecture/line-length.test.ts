/**
 * No line of src/ is longer than 120 characters (Prettier wraps code at 120 but
 * not strings or comments; docs/development.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const src = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'src');
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

t.test('no line of src/ is over 120 characters', async (t) => {
  const long: string[] = [];
  for (const file of files(src)) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.length > 120) long.push(`${relative(src, file)}:${i + 1} (${line.length})`);
      });
  }
  t.ok(files(src).length > 50, 'the sources were found');
  t.same(long, [], 'lines over 120 characters');
});
