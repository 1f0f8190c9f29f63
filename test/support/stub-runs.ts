/**
 * Small runs against a stand-in InfluxDB written in the test itself: a tiny
 * generated archive and a bare HTTP server whose handler sees each request
 * with its body. For tests of how the ingest treats a store's replies.
 */
import type { Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { generateArchive } from '../../fixtures/generate.js';
import { discover } from '../../src/pipeline/discover.js';
import type { FileTask } from '../../src/pipeline/pipeline.js';

/** `files` generated V003 files (300 rows, 6 channels) of one device under a fresh root, discovered. */
export async function small(files: number, company = 'acme'): Promise<{ root: string; tasks: FileTask[] }> {
  const root = mkdtempSync(join(tmpdir(), 'pv-reg-'));
  await generateArchive({
    out: root,
    company,
    campaign: 'c',
    devices: 1,
    files,
    rows: 300,
    channels: 6,
    slaves: 0,
    format: 'v003',
    step: 60,
    start: Date.UTC(2025, 0, 1) / 1000,
    defects: [],
    seed: 2,
  });
  return { root, tasks: await discover([root], { root }) };
}

/** A bare HTTP server on a free port, closed when `t` ends; its URL. */
export async function server(
  t: Test,
  handler: (req: IncomingMessage, body: string, res: ServerResponse) => void,
): Promise<string> {
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => s.close(() => r())));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}
