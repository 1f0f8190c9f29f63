/**
 * Shared helpers of the `powerview ingest` process tests (test/cli-*.test.ts):
 * every run has a temp dir as cwd (no stray .env) and an environment without
 * POWERVIEW_* variables.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { generateArchive, writeFile, type FileSpec } from '../../fixtures/generate.js';
import { cliPath } from './helpers.js';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('POWERVIEW_') || k.startsWith('INFLUX_') || k === 'DATABASE_URL' || k.startsWith('TAP')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export function run(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: opts.cwd,
      env: cleanEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

/** A fresh temp dir, removed when the test ends. */
export function tempDir(t: { teardown(fn: () => void): void }, name = 'pv-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), name));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** wall-clock seconds (as written in the file) for an ISO date without zone */
export const wall = (iso: string) => Date.parse(`${iso}Z`) / 1000;
export const AUG = wall('2025-08-03T00:00:00');
export const JAN = wall('2025-01-15T00:00:00');

export function spec(over: Partial<FileSpec> = {}): FileSpec {
  return {
    format: 'v002',
    masterSn: '02001000',
    channels: 4,
    slaves: 0,
    slaveChannels: 6,
    rows: 20,
    start: AUG,
    step: 600,
    defects: [],
    seed: 1,
    ...over,
  };
}

/**
 * `powerview ingest --json` with no meta database (`--meta-db ''`) over `root`, then `rest` (more flags, then the
 * paths): the CLI arguments.
 */
export function ingestArgs(root: string, ...rest: string[]): string[] {
  return ['ingest', '--json', '--meta-db', '', '--root', root, ...rest];
}

export async function putFile(path: string, s: FileSpec): Promise<string> {
  mkdirSync(join(path, '..'), { recursive: true });
  await writeFile(path, s);
  return path;
}

/** `<root>/acme/camp-2025/{02001000,02001007}/MV2_…tsv`, 2 devices × 2 files */
export async function archive(
  root: string,
  over: { rows?: number; slaves?: number; channels?: number; format?: 'v002' | 'v003' } = {},
) {
  return generateArchive({
    out: root,
    company: 'acme',
    campaign: 'camp-2025',
    devices: 2,
    files: 4,
    rows: over.rows ?? 20,
    channels: over.channels ?? 4,
    slaves: over.slaves ?? 0,
    format: over.format ?? 'v002',
    step: 600,
    start: AUG,
    defects: [],
    seed: 7,
  });
}

export interface LpLine {
  measurement: string;
  tags: Record<string, string>;
  field: string;
  value: string;
  ts: number;
}

export function parseLp(text: string): LpLine[] {
  const out: LpLine[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^((?:[^ \\]|\\.)+) ([^= ]+)=(\S+) (\d+)$/.exec(line);
    if (!m) throw new Error(`unparsable line protocol: ${line}`);
    const parts = m[1].split(/(?<!\\),/);
    const tags: Record<string, string> = {};
    for (const p of parts.slice(1)) {
      const i = p.search(/(?<!\\)=/);
      tags[p.slice(0, i)] = p.slice(i + 1).replace(/\\(.)/g, '$1');
    }
    out.push({ measurement: parts[0], tags, field: m[2], value: m[3], ts: Number(m[4]) });
  }
  return out;
}

export const lineCount = (text: string) => text.split('\n').filter((l) => l !== '').length;

/** every file and folder under dir with its size, for before/after comparisons */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      const st = statSync(full);
      out.push(`${relative(dir, full)}${st.isDirectory() ? '/' : ` ${st.size} ${st.mtimeMs}`}`);
      if (st.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the CLI's JSON output, read as any like every JSON reply in test/ (eslint.config.js)
export type Json = any;

export const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/** runs the CLI with stdout and stderr on a pseudo-terminal (util-linux script) */
export function runTty(args: string[], cwd: string): Promise<RunResult> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, cliPath, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd,
      env: cleanEnv({ TERM: 'xterm' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => out.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: '' }));
  });
}
