/**
 * An HTTP proxy in front of a shared service (InfluxDB) for one test, to make
 * it misbehave for one process only: a request the test's `intercept`
 * handles (answers, or holds and forwards later) never reaches the service
 * unless the test says so; every other request goes straight through.
 * `influxGate` is the common case: writes held until released.
 */
import type { Test } from 'tap';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Answers or holds `req` itself (true), or lets it through (false); `forward` sends it on, now or later. */
export type Intercept = (req: IncomingMessage, res: ServerResponse, forward: () => void) => boolean;

/** A proxy to `target` on a free 127.0.0.1 port, closed when `t` ends (after `onClose`). Returns its URL. */
export async function httpProxy(t: Test, target: string, intercept: Intercept, onClose = () => {}): Promise<string> {
  const to = new URL(target);
  const proxy = createServer((req, res) => {
    const forward = () => {
      const up = request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (!intercept(req, res, forward)) forward();
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        onClose();
        proxy.close(() => r());
        proxy.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}

export interface InfluxGate {
  /** writes wait while true */
  held: boolean;
  /** write requests seen so far */
  writes: number;
  /** lets the held writes through, and every later one */
  release(): void;
}

/** A proxy in front of InfluxDB whose writes wait while `gate.held`; `gate.writes` counts the write requests seen. */
export async function influxGate(t: Test, influxUrl: string): Promise<{ gate: InfluxGate; url: string }> {
  const waiting: Array<() => void> = [];
  const gate: InfluxGate = {
    held: true,
    writes: 0,
    release: () => {
      gate.held = false;
      for (const w of waiting.splice(0)) w();
    },
  };
  const url = await httpProxy(
    t,
    influxUrl,
    (req, _res, forward) => {
      if (!req.url?.includes('/write')) return false;
      gate.writes++;
      if (!gate.held) return false;
      waiting.push(forward);
      return true;
    },
    () => gate.release(),
  );
  return { gate, url };
}
