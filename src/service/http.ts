import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorMessage } from '../errors.js';
import type { LpBatcher } from '../influx/batcher.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { ReadyState } from './readiness.js';

/** What serve's HTTP endpoints answer from. */
export interface Endpoints {
  metrics: Metrics;
  draining(): boolean;
  hook(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** the queue gauges are sampled when scraped */
  sampleGauges(): void;
  readiness(): Promise<ReadyState>;
}

/** serve's HTTP surface: `POST /hooks/sftpgo`, `GET /metrics`, `/healthz`, `/readyz`. */
export async function route(e: Endpoints, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url?.split('?')[0] ?? '/';
  try {
    if (url === '/hooks/sftpgo') {
      if (req.method !== 'POST') return send(res, 405, { error: 'POST only' }, { allow: 'POST' });
      return await e.hook(req, res);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'GET only' }, { allow: 'GET' });
    if (url === '/metrics') {
      e.sampleGauges();
      const body = await e.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': e.metrics.registry.contentType });
      res.end(body);
      return;
    }
    if (url === '/healthz') return send(res, e.draining() ? 503 : 200, { status: e.draining() ? 'stopping' : 'ok' });
    if (url === '/readyz') {
      const r = await e.readiness();
      return send(res, r.ok ? 200 : 503, { status: r.ok ? 'ready' : 'not ready', ...r.detail });
    }
    send(res, 404, { error: 'not found' });
  } catch (err) {
    if (!res.headersSent) send(res, 500, { error: errorMessage(err) });
  }
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The queue gauges, sampled when /metrics is scraped. */
export function sampleQueues(
  m: Metrics,
  q: {
    pending: number;
    inFlight: number;
    settling: number;
    provisions: number;
    running: { pipeline: Pipeline; batcher: LpBatcher } | null;
  },
): void {
  m.queueDepth.set({ queue: 'files_pending' }, q.pending);
  m.queueDepth.set({ queue: 'files_in_flight' }, q.inFlight);
  m.queueDepth.set({ queue: 'files_settling' }, q.settling);
  m.queueDepth.set({ queue: 'provisions' }, q.provisions);
  if (!q.running) return;
  m.queueDepth.set({ queue: 'blocks' }, q.running.pipeline.blocksInFlight);
  m.bytesInFlight.set(q.running.batcher.bytesInFlight);
  const u = q.running.pipeline.utilization;
  if (u !== null) m.workerUtilization.set(u);
}
