/**
 * bench/parse: TSV → line protocol throughput and dry-run memory.
 *
 *   npm run bench:parse                 # everything (generates ~2.2 GB once)
 *   node dist/bench/parse.js --skip-big # without the 2 GB dry run
 *
 * Data is generated under $POWERVIEW_BENCH_DIR (default: <tmpdir>/powerview-bench)
 * and reused by later runs. Results: stdout (markdown) and <dir>/parse.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { generateArchive } from '../fixtures/generate.js';
import { FileScanner } from '../src/tsv/scanner.js';
import { parseBlock } from '../src/tsv/block-parser.js';
import { buildSeriesTable } from '../src/influx/series.js';
import { TimeZoneRules } from '../src/tsv/timezone.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { CountingSink } from '../src/pipeline/sink.js';

const projectRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const { values } = parseArgs({
  options: {
    'skip-big': { type: 'boolean', default: false },
    'big-files': { type: 'string', default: '100' },
    iterations: { type: 'string', default: '7' },
  },
});
const dir = process.env.POWERVIEW_BENCH_DIR ?? join(tmpdir(), 'powerview-bench');
mkdirSync(dir, { recursive: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const M = (x: number) => (x / 1e6).toFixed(2);

function filesUnder(d: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

async function ensureArchive(
  name: string,
  files: number,
  devices: number,
): Promise<{ root: string; files: string[]; bytes: number }> {
  const root = join(dir, name);
  const marker = join(root, '.complete');
  if (!existsSync(marker)) {
    process.stderr.write(`generating ${name} (${files} files of 100,000 rows × 30 channels)…\n`);
    await generateArchive({
      out: root,
      company: 'acme',
      campaign: 'bench',
      devices,
      files,
      rows: 100_000,
      channels: 30,
      slaves: 4,
      format: 'v002',
      step: 10,
      start: Date.parse('2025-01-06T00:00:00Z') / 1000,
      defects: [],
      seed: 42,
    });
    writeFileSync(marker, '');
  }
  const list = filesUnder(root)
    .filter((f) => f.endsWith('.tsv'))
    .sort();
  return { root, files: list, bytes: list.reduce((s, f) => s + statSync(f).size, 0) };
}

async function main(): Promise<void> {
  const iterations = Number(values.iterations);
  const one = await ensureArchive('one-file', 1, 1);
  const file = one.files[0];
  const data = readFileSync(file);
  const zone = 'Europe/Paris';

  // 1. one thread, in memory: pass 1 (timestamps, duplicates) + pass 2 (cells → line protocol)
  const single: number[] = [];
  let points = 0;
  let lpBytes = 0;
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    const scanner = new FileScanner({
      blockBytes: 256 * 1024,
      v002TimeZone: zone,
      isValidZone: (z) => TimeZoneRules.isValid(z),
    });
    scanner.push(data);
    const scan = scanner.end();
    const table = buildSeriesTable(scan.header, { tenant: 'acme', campaign: 'bench' });
    points = 0;
    lpBytes = 0;
    let reuse: ArrayBuffer | undefined;
    for (const b of scan.blocks) {
      const r = parseBlock(data.subarray(b.offset, b.offset + b.length), b.epochs, b.firstLine, table, reuse);
      points += r.stats.points;
      lpBytes += r.lpLength;
      reuse = r.lp.buffer as ArrayBuffer;
    }
    single.push((performance.now() - t0) / 1000);
  }
  const singleBest = Math.min(...single);
  const singleMedian = median(single);

  // 2. the pool, from the file on disk, as `powerview ingest --dry-run` runs it
  const pool: Record<number, number[]> = {};
  const workerCounts = [...new Set([1, availableParallelism()])];
  for (const w of workerCounts) {
    pool[w] = [];
    for (let i = 0; i < Math.max(3, Math.ceil(iterations / 2)); i++) {
      const pipeline = new Pipeline({ workers: w, v002TimeZone: zone, sink: new CountingSink() });
      const t0 = performance.now();
      const [r] = await pipeline.run([{ path: file, identity: { tenant: 'acme', campaign: 'bench' } }]);
      pool[w].push((performance.now() - t0) / 1000);
      await pipeline.close();
      if (r.points !== points) throw new Error(`pool produced ${r.points} points, single thread ${points}`);
    }
  }

  // 3. the CLI's dry run over ≥ 2 GB, peak RSS of the whole process (all threads)
  let big: { bytes: number; files: number; points: number; seconds: number; peakRss: number } | null = null;
  if (!values['skip-big']) {
    const archive = await ensureArchive('two-gb', Number(values['big-files']), 10);
    const out = execFileSync(
      process.execPath,
      [join(projectRoot, 'bin', 'powerview.js'), 'ingest', '--dry-run', '--json', archive.root],
      {
        maxBuffer: 1 << 30,
        cwd: dir,
      },
    ).toString();
    const report = JSON.parse(out);
    big = {
      bytes: archive.bytes,
      files: archive.files.length,
      points: report.totals.points,
      seconds: report.duration_ms / 1000,
      peakRss: report.peak_rss_bytes,
    };
  }

  const rows: string[] = [];
  rows.push(`Machine: ${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}, Node ${process.version}`);
  rows.push(
    `Input: ${file.replace(dir, '<bench-dir>')} — 100,000 rows × 30 channels, ${(data.length / 1e6).toFixed(1)} MB, ${points.toLocaleString('en-US')} points, ${(lpBytes / 1e6).toFixed(0)} MB of line protocol`,
  );
  rows.push('');
  rows.push('| measurement | points/s (M) | input MB/s | runs |');
  rows.push('|---|---:|---:|---|');
  rows.push(
    `| one thread, in memory, pass 1 + pass 2 (best) | ${M(points / singleBest)} | ${(data.length / 1e6 / singleBest).toFixed(0)} | ${iterations} |`,
  );
  rows.push(
    `| one thread, in memory, pass 1 + pass 2 (median) | ${M(points / singleMedian)} | ${(data.length / 1e6 / singleMedian).toFixed(0)} | ${iterations} |`,
  );
  for (const w of workerCounts) {
    const m = median(pool[w]);
    rows.push(
      `| pool of ${w} worker${w > 1 ? 's' : ''}, from disk, median (pool start included) | ${M(points / m)} | ${(data.length / 1e6 / m).toFixed(0)} | ${pool[w].length} |`,
    );
  }
  if (big) {
    rows.push('');
    rows.push(
      `Dry run of the CLI over ${(big.bytes / 1e9).toFixed(2)} GB (${big.files} files, ${big.points.toLocaleString('en-US')} points): ` +
        `${big.seconds.toFixed(1)} s, ${M(big.points / big.seconds)} M points/s, **peak RSS ${(big.peakRss / 1e6).toFixed(0)} MB**`,
    );
  }
  const text = rows.join('\n');
  process.stdout.write(`${text}\n`);
  writeFileSync(join(dir, 'parse.json'), JSON.stringify({ single, pool, points, bytes: data.length, big }, null, 2));
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
