/**
 * Test helpers for the TSV tests: the two-pass path run in-process (scanner
 * fed in chunks, then every block through parseBlock), and the Pipeline run
 * on temporary files with an in-memory sink.
 */
import { markClockResets } from '../../src/quality/clock-reset.js';
import { DEFAULT_THRESHOLDS } from '../../src/quality/thresholds.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBlock, type BlockStats } from '../../src/tsv/block-parser.js';
import { FileScanner, type ScanResult } from '../../src/tsv/scanner.js';
import { buildSeriesTable, type FileIdentity } from '../../src/influx/series.js';
import { TimeZoneRules } from '../../src/tsv/timezone.js';
import { FileStats } from '../../src/pipeline/stats.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import type { LpSink } from '../../src/pipeline/sink.js';
import type { FileReport } from '../../src/pipeline/report.js';

export const IDENTITY: FileIdentity = { tenant: 'acme', campaign: 'camp1' };

export interface InProcessOptions {
  /** chunk sizes fed to the scanner, cycled; default: the whole buffer at once */
  chunks?: number[];
  blockBytes?: number;
  v002TimeZone?: string;
  identity?: FileIdentity;
}

export interface InProcessResult {
  scan: ScanResult;
  lp: string;
  stats: BlockStats;
}

/** Feeds `file` to a FileScanner in the given chunk sizes; returns the scan result. */
export function scan(file: Buffer, options: InProcessOptions = {}): ScanResult {
  const scanner = new FileScanner({
    blockBytes: options.blockBytes ?? 256 * 1024,
    v002TimeZone: options.v002TimeZone ?? 'UTC',
    isValidZone: (z) => TimeZoneRules.isValid(z),
  });
  const sizes = options.chunks && options.chunks.length > 0 ? options.chunks : [Math.max(1, file.length)];
  let pos = 0;
  let i = 0;
  while (pos < file.length) {
    const size = Math.max(1, sizes[i++ % sizes.length]);
    // a copy the test then scribbles over: the scanner must not keep references to the caller's buffer
    const chunk = Buffer.from(file.subarray(pos, pos + size));
    scanner.push(chunk);
    chunk.fill(0x58);
    pos += size;
  }
  return scanner.end();
}

/** The whole two-pass path in-process: scan, then parseBlock per block, LP concatenated, stats merged. */
export function runInProcess(file: Buffer, options: InProcessOptions = {}): InProcessResult {
  const result = scan(file, options);
  // pass 1's last step in the pipeline too (parser.ts): clock-reset rows are written nowhere
  markClockResets(result.blocks, DEFAULT_THRESHOLDS);
  const table = buildSeriesTable(result.header, options.identity ?? IDENTITY);
  const stats = new FileStats(result.header.channels.length);
  const parts: Buffer[] = [];
  for (const block of result.blocks) {
    const buf = new Uint8Array(file.subarray(block.offset, block.offset + block.length));
    const r = parseBlock(buf, block.epochs, block.firstLine, table);
    parts.push(Buffer.from(r.lp.subarray(0, r.lpLength)));
    stats.add(r.stats);
  }
  return { scan: result, lp: Buffer.concat(parts).toString('utf8'), stats: stats.stats };
}

export class MemorySink implements LpSink {
  chunks: Buffer[] = [];
  write(chunk: Uint8Array): void {
    this.chunks.push(Buffer.from(chunk));
  }
  async close(): Promise<void> {}
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

let scratch: string | null = null;
let counter = 0;
function scratchDir(): string {
  if (!scratch) {
    scratch = mkdtempSync(join(tmpdir(), 'pv-tsv-test-'));
    const dir = scratch;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return scratch;
}

/** Writes `content` to a fresh temporary file and returns its path. */
export function tempFile(content: Buffer | string, name = 'file.tsv'): string {
  const path = join(scratchDir(), `${counter++}-${name}`);
  writeFileSync(path, content);
  return path;
}

export interface PipelineRun {
  report: FileReport;
  lp: string;
}

/** Runs `new Pipeline({ workers: 0, … })` over temporary copies of the given files. */
export async function runPipeline(
  files: Array<Buffer | string>,
  options: { blockBytes?: number; v002TimeZone?: string; identity?: FileIdentity } = {},
): Promise<PipelineRun[]> {
  const out: PipelineRun[] = [];
  for (const content of files) {
    const sink = new MemorySink();
    const pipeline = new Pipeline({
      workers: 0,
      sink,
      v002TimeZone: options.v002TimeZone ?? 'UTC',
      ...(options.blockBytes ? { blockBytes: options.blockBytes } : {}),
    });
    try {
      const [report] = await pipeline.run([{ path: tempFile(content), identity: options.identity ?? IDENTITY }]);
      out.push({ report, lp: sink.text() });
    } finally {
      await pipeline.close();
    }
  }
  return out;
}

export async function runPipelineOne(
  content: Buffer | string,
  options: { blockBytes?: number; v002TimeZone?: string; identity?: FileIdentity } = {},
): Promise<PipelineRun> {
  return (await runPipeline([content], options))[0];
}

export interface LpLine {
  measurement: string;
  tags: Record<string, string>;
  /** the raw (escaped) tag section in order, for order checks */
  tagKeys: string[];
  field: string;
  value: string;
  time: number;
}

/** Parses one of our LP lines (one field, integer seconds timestamp); unescapes tag values. */
export function parseLpLine(line: string): LpLine {
  const m = /^((?:[^ \\]|\\.)+) ((?:[^=\\ ]|\\.)+)=(\S+) (\d+)$/.exec(line);
  if (!m) throw new Error(`unparsable line protocol: ${JSON.stringify(line)}`);
  const series = m[1];
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < series.length; i++) {
    const ch = series[i];
    if (ch === '\\' && i + 1 < series.length) {
      cur += ch + series[i + 1];
      i++;
    } else if (ch === ',') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  const unescape = (s: string) => s.replace(/\\(.)/g, '$1');
  const tags: Record<string, string> = {};
  const tagKeys: string[] = [];
  for (const p of parts.slice(1)) {
    const eq = /^((?:[^=\\]|\\.)+)=(.*)$/.exec(p);
    if (!eq) throw new Error(`bad tag ${p}`);
    tags[unescape(eq[1])] = unescape(eq[2]);
    tagKeys.push(unescape(eq[1]));
  }
  return { measurement: unescape(parts[0]), tags, tagKeys, field: unescape(m[2]), value: m[3], time: Number(m[4]) };
}

export function lpLines(lp: string): LpLine[] {
  return lp
    .split('\n')
    .filter((l) => l !== '')
    .map(parseLpLine);
}

/** `field@time` → value, the last line winning (as InfluxDB stores it). */
export function pointMap(lp: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of lpLines(lp)) m.set(`${l.field}@${l.time}`, l.value);
  return m;
}

/** epoch seconds of a UTC ISO date */
export const epoch = (iso: string): number => Date.parse(iso) / 1000;
