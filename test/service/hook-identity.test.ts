/**
 * The hook's identity and completeness checks, and its header bound:
 * - an event whose company folder is not its SFTPGo `username` is refused
 *   (403) unless `--hook-user-map` gives that user that company;
 * - an upload event without `status` (SFTPGo always sends it) is refused (400);
 * - a client that has not finished its headers is cut at the 10 s bound, not
 *   at Node's 30 s connection check (~40 s).
 */
import t from 'tap';
import { connect, type AddressInfo } from 'node:net';
import {
  HEADERS_TIMEOUT_MS,
  HookError,
  checkOwner,
  hookServer,
  parseEvent,
  parseUserMap,
} from '../../src/service/hook.js';

const status = (f: () => unknown): number | null => {
  try {
    f();
    return null;
  } catch (err) {
    return err instanceof HookError ? err.status : -1;
  }
};

t.test('an event whose company folder differs from its username is refused with 403', async (t) => {
  const none = new Map<string, string>();
  t.equal(
    status(() => checkOwner({ action: 'upload', username: 'acme' }, 'acme', none)),
    null,
    'own company folder: accepted',
  );
  t.equal(
    status(() => checkOwner({ action: 'upload', username: 'acme' }, 'globex', none)),
    403,
    'another company folder: 403',
  );
  t.equal(
    status(() => checkOwner({ action: 'upload' }, 'acme', none)),
    400,
    'no username: 400',
  );
  const map = parseUserMap('sftp-acme=acme, ops = globex');
  t.equal(
    status(() => checkOwner({ action: 'upload', username: 'sftp-acme' }, 'acme', map)),
    null,
    'mapped user → its company: accepted',
  );
  t.equal(
    status(() => checkOwner({ action: 'upload', username: 'sftp-acme' }, 'globex', map)),
    403,
    'mapped user → another company: 403',
  );
  t.equal(
    status(() => checkOwner({ action: 'upload', username: 'ops' }, 'globex', map)),
    null,
    'spaces around the pair are trimmed',
  );
  t.throws(() => parseUserMap('acme'), /not user=company/);
  t.throws(() => parseUserMap('a=b/c'), /not user=company/);
  t.same([...parseUserMap('')], []);
});

t.test('an upload event without status is refused with 400', async (t) => {
  const body = (e: object) => Buffer.from(JSON.stringify(e));
  t.equal(
    status(() => parseEvent(body({ action: 'upload', username: 'a', path: '/r/a/c/d/x.tsv' }))),
    400,
    'no status: 400',
  );
  t.equal(
    status(() => parseEvent(body({ action: 'upload', username: 'a', path: '/r/a/c/d/x.tsv', status: null }))),
    400,
    'null status: 400',
  );
  t.equal(
    status(() => parseEvent(body({ action: 'upload', username: 'a', path: '/r/a/c/d/x.tsv', status: 1 }))),
    null,
    'status 1: parsed',
  );
  t.equal(
    status(() => parseEvent(body({ action: 'mkdir', username: 'a', path: '/r/a/c' }))),
    null,
    'mkdir needs no status',
  );
});

t.test('a client sending a partial header is cut at the header bound, not after ~40 s', async (t) => {
  const server = hookServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  const started = Date.now();
  const closedAfter = await new Promise<number>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write('POST /hooks/sftpgo HTTP/1.1\r\nHost: x\r\nContent-'));
    sock.on('error', () => undefined);
    sock.resume(); // read the 408 and the end
    sock.on('close', () => resolve(Date.now() - started));
    // a backstop only: Node's default would cut at 30–40 s
    setTimeout(() => reject(new Error('still open after 28 s')), 28_000).unref();
  });
  t.ok(closedAfter >= HEADERS_TIMEOUT_MS - 500, `not cut before the bound (${closedAfter} ms)`);
  t.ok(closedAfter < 28_000, `cut at the bound plus the 1 s check, not at Node's 30 s check (${closedAfter} ms)`);
});
