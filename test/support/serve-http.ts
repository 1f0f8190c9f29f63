/**
 * HTTP for the serve tests: SFTPGo's hook calls (JSON, or a raw socket for
 * bodies larger than the server accepts), its upload event, and the
 * Prometheus text format of /metrics.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

export interface HookReply {
  status: number;
  body: Record<string, unknown>;
}

/** POST /hooks/sftpgo; a body given as a string or Buffer is sent as is. */
export async function postHook(url: string, event: unknown, authorization?: string): Promise<HookReply> {
  const body =
    typeof event === 'string' ? event : Buffer.isBuffer(event) ? new Uint8Array(event) : JSON.stringify(event);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization !== undefined) headers.authorization = authorization;
  const res = await fetch(`${url}/hooks/sftpgo`, { method: 'POST', headers, body });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed };
}

/**
 * A raw POST over a plain socket, for bodies larger than the server accepts:
 * the headers and the first `firstBytes` of the body go at once, then the
 * client waits (up to a second) for an early reply before sending the rest,
 * as a client honouring an early error does. (A client that pushes the whole
 * body first may see the connection reset instead: the server closes it on
 * unread data.) `chunked`: chunked transfer encoding, no Content-Length.
 */
export function rawPost(
  url: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  options: { chunked?: boolean; firstBytes?: number } = {},
): Promise<{ status: number; text: string } | { error: string }> {
  const chunked = options.chunked ?? false;
  return new Promise((resolve) => {
    const u = new URL(path, url);
    const socket = connect(Number(u.port), u.hostname);
    const received: Buffer[] = [];
    let failure = '';
    let replied: (() => void) | null = null;
    socket.on('data', (d: Buffer) => {
      received.push(d);
      replied?.();
    });
    socket.on('error', (err) => (failure ||= err.message));
    socket.on('close', () => {
      replied?.();
      const text = Buffer.concat(received).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) resolve({ status: Number(m[1]), text: text.slice(text.indexOf('\r\n\r\n') + 4) });
      else resolve({ error: failure || 'no reply' });
    });
    const frame = (piece: Buffer) =>
      chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece;
    const head = [
      `POST ${u.pathname} HTTP/1.1`,
      `host: ${u.host}`,
      'connection: close',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      chunked ? 'transfer-encoding: chunked' : `content-length: ${body.length}`,
      '',
      '',
    ].join('\r\n');
    const first = Math.min(options.firstBytes ?? 0, body.length);
    socket.write(first > 0 ? Buffer.concat([Buffer.from(head), frame(body.subarray(0, first))]) : head);
    let off = first;
    const pump = () => {
      while (off < body.length && !socket.destroyed) {
        const piece = body.subarray(off, off + 16384);
        off += piece.length;
        if (!socket.write(frame(piece))) return void socket.once('drain', pump);
      }
      if (socket.destroyed) return;
      if (chunked) socket.end('0\r\n\r\n');
      else socket.end();
    };
    const timer = setTimeout(() => {
      replied = null;
      pump();
    }, 1000);
    replied = () => {
      replied = null;
      clearTimeout(timer);
    };
  });
}

/** SFTPGo's upload notification for an absolute path under the root. */
export function uploadEvent(root: string, path: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const rel = path.slice(root.length + 1).split('/');
  return {
    action: 'upload',
    username: rel[0],
    path,
    virtual_path: `/${rel.slice(1).join('/')}`,
    file_size: existsSync(path) ? readFileSync(path).length : 0,
    status: 1,
    protocol: 'SFTP',
    timestamp: Date.now() * 1_000_000,
    ...extra,
  };
}

// ---------------------------------------------------------------- Prometheus text

/** `name{a="x",b="y"}` → value (labels sorted), from the Prometheus text format. */
export type PromSamples = Map<string, number>;

export function parseProm(text: string): PromSamples {
  const out: PromSamples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map((x) => `${x[1]}="${x[2]}"`)
      .sort();
    out.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return out;
}

/** Sum of the samples of `name` whose labels include all of `labels`. */
export function promValue(samples: PromSamples, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [key, v] of samples) {
    if (!key.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, val]) => key.includes(`${k}="${val}"`))) sum += v;
  }
  return sum;
}
