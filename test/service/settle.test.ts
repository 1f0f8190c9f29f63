/**
 * A file written slowly (chunks cut anywhere, every
 * ~300 ms for ~4 s, one pause of 1 s; no hook) with --settle 1.5 is not
 * ingested before it is complete: nothing moves while it is written, the
 * stores end up holding the whole file, the ledger one row with the sha256
 * of the whole file, nothing in error/.
 */
import t from 'tap';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { servicesSkip } from '../support/services.js';
import { promValue, serial, startServeCase } from '../support/serve-harness.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

t.test(
  'a file written slowly is ingested once, whole, after it stopped changing',
  { skip: servicesSkip },
  async (t) => {
    // two devices written side by side; the staged copies give the expected content
    const c = await startServeCase(t, {
      db: 'settle',
      label: 'settle',
      devices: [
        { masterSn: serial(1), files: 1, rows: 1500, overlap: 0, seed: 11 },
        { masterSn: serial(2), files: 1, rows: 900, overlap: 0, seed: 12 },
      ],
      staged: true,
      serve: { settle: 1.5, rescan: 1 },
    });
    const { tenant, serve, files: staged, inRoot: files } = c;

    const early: string[] = [];
    const watchMoves = () => {
      for (const f of files) {
        for (const d of ['parsed', 'error'])
          if (existsSync(join(dirname(f), d))) early.push(`${d}/ of ${f} while being written`);
      }
    };
    const writeSlowly = async (from: string, to: string, pauseAt: number) => {
      const bytes = readFileSync(from);
      mkdirSync(dirname(to), { recursive: true });
      const fd = openSync(to, 'w');
      try {
        // 14 pieces of uneven size, cut anywhere (mid-row, mid-number)
        const cuts = Array.from(
          { length: 13 },
          (_, i) => Math.floor(((i + 1) / 14) * bytes.length) + ((i * 7919) % 97) - 48,
        ).sort((a, b) => a - b);
        let off = 0;
        for (const [i, cut] of [...cuts, bytes.length].entries()) {
          writeSync(fd, bytes, off, cut - off);
          off = cut;
          watchMoves();
          if (off < bytes.length) await sleep(i === pauseAt ? 1000 : 300);
        }
      } finally {
        closeSync(fd);
      }
    };
    const t0 = Date.now();
    await Promise.all([writeSlowly(staged[0], files[0], 6), writeSlowly(staged[1], files[1], 9)]);
    const writing = Date.now() - t0;
    t.ok(writing >= 4000, `written over ${(writing / 1000).toFixed(1)} s`);
    watchMoves();
    t.same(early, [], 'nothing moved or read into error/ while being written');
    await c.ingested(files, 20_000, 'ingested once complete');
    t.comment(`ingested ${((Date.now() - t0 - writing) / 1000).toFixed(1)} s after the last write`);
    const settledAfter = serve.logs().filter((l) => l.event === 'settled').length;
    t.equal(settledAfter, 2, 'each file found complete by the watch once');
    const ingested = serve.logs().filter((l) => l.event === 'file');
    t.same(
      ingested.map((l) => l.status),
      ['ok', 'ok'],
      'one ingest per file, ok',
    );
    t.same(ingested.map((l) => l.rows).sort(), [900, 1500].sort(), 'each ingest read every row of its file');
    await c.check(files);
    const m = await serve.metrics();
    t.equal(promValue(m, 'powerview_files_total', { tenant }), 2, 'two files processed, no more');
    t.equal(
      promValue(m, 'powerview_invalid_total', { tenant }),
      0,
      'no truncated row, no invalid value (no partial read)',
    );
    await c.stop();
  },
);
