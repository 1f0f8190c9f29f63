import { Pool } from 'undici';
import type { InfluxConfig } from './config.js';

/** What InfluxDB answered to one request. */
export interface Reply {
  status: number;
  /** `Retry-After` as received, when present */
  retryAfter: string | null;
  body: string;
}

export type Method = 'GET' | 'POST' | 'DELETE';

/** How much of an error reply is read (a success is read whole). */
export const MAX_ERROR_BODY = 64 * 1024;

export const JSON_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json' };
export const FORM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/x-www-form-urlencoded',
};

/**
 * One keep-alive undici Pool to INFLUX_URL, with the credentials of the configured API on every request.
 * Network failures throw (the caller retries); HTTP statuses are returned. What each API version sends over it
 * is in `api-v1.ts`, `api-v2.ts`, `api-v3.ts`, put together by `InfluxHttp` (`http-api.ts`).
 */
export class InfluxTransport {
  readonly config: Readonly<InfluxConfig>;
  private readonly pool: Pool;
  /** the path prefix of INFLUX_URL ("" or e.g. "/influx") */
  readonly basePath: string;

  constructor(config: Readonly<InfluxConfig>, connections = config.concurrency + 2) {
    this.config = config;
    const url = new URL(config.url);
    this.basePath = url.pathname === '/' ? '' : url.pathname;
    this.pool = new Pool(url.origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: config.requestTimeoutMs,
      bodyTimeout: config.requestTimeoutMs,
      connectTimeout: 10_000,
    });
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private authHeader(): string | undefined {
    const c = this.config;
    if (c.api === 'v3') return `Bearer ${c.token}`;
    if (c.api === 'v2') return `Token ${c.token}`;
    if (c.username !== undefined) return `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}`;
    if (c.token) return `Token ${c.token}`;
    return undefined;
  }

  /** One request; `headers` may override the configured `authorization`. */
  async request(
    method: Method,
    path: string,
    body?: Uint8Array | string,
    headers: Record<string, string> = {},
    maxErrorBody = MAX_ERROR_BODY,
  ): Promise<Reply> {
    const auth = this.authHeader();
    const res = await this.pool.request({
      method,
      path,
      body,
      headers: { ...(auth ? { authorization: auth } : {}), ...headers },
    });
    let text = '';
    if (res.statusCode === 204) await res.body.dump();
    else text = await readLimited(res.body, res.statusCode === 200 || res.statusCode === 201 ? Infinity : maxErrorBody);
    const ra = res.headers['retry-after'];
    return { status: res.statusCode, retryAfter: Array.isArray(ra) ? (ra[0] ?? null) : (ra ?? null), body: text };
  }

  /** A JSON body POSTed, with `headers` on top of the content type. */
  postJson(path: string, value: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    return this.request('POST', path, JSON.stringify(value), { ...JSON_HEADERS, ...headers });
  }

  /** Is InfluxDB answering? (`/ping`: 204 on 1.x, 2.x and 3.x; no database touched) */
  async ping(): Promise<boolean> {
    try {
      const r = await this.request('GET', `${this.basePath}/ping`);
      return r.status >= 200 && r.status < 300;
    } catch {
      return false;
    }
  }
}

async function readLimited(body: AsyncIterable<Buffer> & { dump(): Promise<void> }, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < limit) parts.push(chunk);
    size += chunk.length;
  }
  const text = Buffer.concat(parts).toString('utf8');
  return size > limit ? text.slice(0, limit) : text;
}

/** A body parsed as a JSON object (or array), or null when it is not JSON or not an object. */
export function jsonObject(body: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(body) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
