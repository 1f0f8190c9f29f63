/**
 * The Parser: a file's bytes → blocks parsed in order, each block taking a
 * slot (the bound) that its consumer gives back, then the file's end.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Parser, type Entry } from '../../src/pipeline/parser.js';

const pad = (n: number) => String(n).padStart(2, '0');
const stamp = (epoch: number) => {
  const d = new Date(epoch * 1000);
  return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${String(d.getUTCFullYear()).slice(2)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
};

function tsv(rows: number): string {
  const t0 = Date.UTC(2025, 0, 6, 10, 0, 0) / 1000;
  const lines = [
    'START_HEADER',
    JSON.stringify({ DataTimeSettings: 'UTC', MasterType: 'Mono', FileVersion: 3 }),
    'END_HEADER',
    'START_DATA',
    '02001171\t02001171\t02001171',
    'MV_T302_V003\tPh 1 V\tP1 W',
    ...Array.from({ length: rows }, (_, k) => `${stamp(t0 + k * 60)}\t230.${k % 10}\t${k}`),
    'END_DATA',
  ];
  return `${lines.join('\n')}\n`;
}

async function readAll(parser: Parser, path: string, slots: number) {
  const entries: Entry[] = [];
  let free = slots;
  let lowest = slots;
  await parser.readFile(
    { path, identity: { tenant: 'acme', campaign: 'c1' } },
    (e) => entries.push(e),
    async () => {
      // the consumer gives a slot back once a block is taken: here, at once after the count
      if (free === 0) throw new Error('acquired past the bound');
      free--;
      lowest = Math.min(lowest, free);
      await Promise.resolve();
      free++;
    },
    () => free++,
  );
  return { entries, lowest };
}

t.test('blocks in file order, then the end with the parse facts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pv-parser-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'a.tsv');
  writeFileSync(path, tsv(400));
  const parser = new Parser({ workers: 0, blockBytes: 4096, maxInFlight: 2, v002TimeZone: 'Europe/Paris' });
  t.teardown(() => parser.close());
  const { entries, lowest } = await readAll(parser, path, 2);
  const blocks = entries.filter((e) => e.kind === 'block');
  t.ok(blocks.length > 1, `${blocks.length} blocks`);
  t.equal(entries[entries.length - 1].kind, 'end');
  t.ok(lowest >= 0);
  let lines = 0;
  for (const b of blocks) {
    const r = await b.result;
    lines += new TextDecoder().decode(r.lp.subarray(0, r.lpLength)).split('\n').length - 1;
  }
  t.equal(lines, 800, 'two channels × 400 rows');
  const end = entries[entries.length - 1];
  t.equal(end.file.failure, null);
  t.equal(end.file.report.master_sn, '02001171');
  t.equal(parser.utilization, null, 'no pool with 0 workers');
});

t.test('an unreadable file ends with its failure, never a throw', async (t) => {
  const parser = new Parser({ workers: 0, blockBytes: 4096, maxInFlight: 2, v002TimeZone: 'Europe/Paris' });
  t.teardown(() => parser.close());
  const { entries } = await readAll(parser, '/nonexistent/a.tsv', 2);
  t.equal(entries.length, 1);
  t.equal(entries[0].kind, 'end');
  t.ok(entries[0].file.failure);
});
