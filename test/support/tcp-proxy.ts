/**
 * A TCP proxy a test controls, to make a shared service unreachable for one
 * process without stopping it: `cut()` drops every connection, `down()`
 * refuses new ones (accepted, then closed at once) until `up()`, `close()`
 * stops listening for good.
 */
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  port: number;
  /** connections accepted so far */
  accepted(): number;
  cut(): void;
  down(): void;
  up(): void;
  close(): Promise<void>;
}

export async function tcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let refusing = false;
  let count = 0;
  const server = createServer((client) => {
    count++;
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(port, host);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const cut = () => {
    for (const s of [...sockets]) s.destroy();
    sockets.clear();
  };
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => count,
    cut,
    down: () => {
      refusing = true;
      cut();
    },
    up: () => {
      refusing = false;
    },
    close: () =>
      new Promise<void>((r) => {
        refusing = true;
        cut();
        server.close(() => r());
      }),
  };
}
