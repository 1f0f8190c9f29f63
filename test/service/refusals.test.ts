/**
 * What the hook endpoint refuses, with which status —
 * paths with "..", paths elsewhere, symlinks in the data root leading out of
 * it (401 without the secret, 400 malformed, 403 outside, 413 too large,
 * 405 wrong method) — and that none of it affects the service: a valid
 * upload afterwards is ingested, /healthz stays 200, and the watch never
 * ingests what a symlink inside the root points to outside it.
 */
import t from 'tap';
import { existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { servicesSkip } from '../support/services.js';
import {
  HOOK_SECRET,
  checkStores,
  expectedOf,
  postHook,
  promValue,
  rawPost,
  serial,
  serveSetup,
  startServe,
  uploadEvent,
  waitParsed,
  writeDeviceFiles,
  tempDir,
} from '../support/serve-harness.js';

// the services are taken one test file at a time (servicesUp): the wait for them counts too
t.setTimeout(600_000);

t.test(
  'the hook refuses bad calls with the right status; the service carries on',
  { skip: servicesSkip },
  async (t) => {
    const { db, tenant, base, root } = await serveSetup(t, 'refusals', 'refuse');
    const outside = join(base, 'outside');
    // valid logger files outside the data root (another tenant's, say): never to be read through the root
    const [secretFile] = writeDeviceFiles(outside, tenant, 'camp', {
      masterSn: serial(9),
      files: 1,
      rows: 50,
      overlap: 0,
      seed: 99,
    });
    writeFileSync(join(base, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
    const devDir = join(root, tenant, 'camp', serial(1));
    mkdirSync(devDir, { recursive: true });
    // a symlink to a file outside, and a device folder that is a symlink to a folder outside
    const fileLink = join(devDir, 'MV2_linked_20250601_000000.tsv');
    symlinkSync(secretFile, fileLink);
    const passwdLink = join(devDir, 'passwd.tsv');
    symlinkSync(join(base, 'passwd'), passwdLink);
    const dirLink = join(root, tenant, 'camp', serial(9));
    symlinkSync(join(outside, tenant, 'camp', serial(9)), dirLink);
    const throughDirLink = join(dirLink, readdirSync(join(outside, tenant, 'camp', serial(9)))[0]);

    const serve = await startServe(t, db.env, { root, stateDir: join(base, 'state'), settle: 0.5, rescan: 1 });
    const url = serve.url;
    const good = (path: string) => uploadEvent(root, path);
    const bearer = `Bearer ${HOOK_SECRET}`;
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

    t.test('authentication: 401', async (t) => {
      const ev = good(join(devDir, 'x.tsv'));
      const none = await postHook(url, ev);
      t.equal(none.status, 401, 'no Authorization');
      const res = await fetch(`${url}/hooks/sftpgo`, { method: 'POST', body: JSON.stringify(ev) });
      t.match(res.headers.get('www-authenticate') ?? '', /Bearer/, 'WWW-Authenticate names the schemes');
      await res.text();
      t.equal((await postHook(url, ev, 'Bearer wrong-secret-0123456789')).status, 401, 'wrong Bearer secret');
      t.equal((await postHook(url, ev, `Bearer ${HOOK_SECRET}x`)).status, 401, 'the secret plus a character');
      t.equal(
        (await postHook(url, ev, `Bearer ${HOOK_SECRET.slice(0, -1)}`)).status,
        401,
        'the secret minus a character',
      );
      t.equal((await postHook(url, ev, basic('sftpgo', 'nope'))).status, 401, 'wrong basic-auth password');
      t.equal(
        (await postHook(url, ev, basic(HOOK_SECRET, ''))).status,
        401,
        'the secret as basic-auth user name is not a password',
      );
      t.equal((await postHook(url, ev, `Digest ${HOOK_SECRET}`)).status, 401, 'another scheme');
      t.equal((await postHook(url, ev, HOOK_SECRET)).status, 401, 'the bare secret');
      // unauthenticated junk is refused before it is read
      const big = await rawPost(
        url,
        '/hooks/sftpgo',
        { 'content-type': 'application/json' },
        Buffer.alloc(2 << 20, 0x20),
      );
      t.equal('status' in big ? big.status : big.error, 401, 'a large unauthenticated body: 401');
    });

    t.test('malformed bodies: 400', async (t) => {
      const cases: Array<[string, string]> = [
        ['truncated JSON', '{"action":"upload","path":'],
        ['not JSON', 'action=upload&path=/x'],
        ['empty body', ''],
        ['a JSON array', '[{"action":"upload"}]'],
        ['JSON null', 'null'],
        ['no action', JSON.stringify({ path: join(devDir, 'x.tsv') })],
        ['path not a string', JSON.stringify({ action: 'upload', path: 42 })],
        ['status not a number', JSON.stringify({ action: 'upload', path: join(devDir, 'x.tsv'), status: '1' })],
        ['no path at all', JSON.stringify({ action: 'upload', status: 1 })],
        ['a relative path', JSON.stringify({ action: 'upload', path: `${tenant}/camp/${serial(1)}/x.tsv`, status: 1 })],
        ['NUL in the path', JSON.stringify({ action: 'upload', path: `${devDir}/x\u0000.tsv`, status: 1 })],
      ];
      for (const [what, body] of cases) {
        const r = await postHook(url, body, bearer);
        t.equal(r.status, 400, what);
        t.type(r.body.error, 'string', `${what}: the cause in the reply`);
      }
    });

    t.test('paths outside the data root: 403', async (t) => {
      const cases: Array<[string, Record<string, unknown>]> = [
        ['".." climbing out', { action: 'upload', path: `${devDir}/../../../../passwd`, status: 1 }],
        ['".." staying inside', { action: 'upload', path: `${devDir}/../${serial(1)}/x.tsv`, status: 1 }],
        ['an absolute path elsewhere', { action: 'upload', path: '/etc/passwd', status: 1 }],
        ['a valid file outside the root', { action: 'upload', path: secretFile, status: 1 }],
        ['the root itself', { action: 'upload', path: root, status: 1 }],
        [
          'a sibling folder sharing the root as prefix',
          { action: 'upload', path: `${root}-evil/${tenant}/camp/d/x.tsv`, status: 1 },
        ],
        ['virtual_path with ".."', { action: 'upload', username: tenant, virtual_path: '/../../passwd', status: 1 }],
        ['username ".."', { action: 'upload', username: '..', virtual_path: '/passwd', status: 1 }],
        ['a symlink to a file outside', { action: 'upload', path: fileLink, status: 1 }],
        ['a symlink to /etc/passwd-like file outside', { action: 'upload', path: passwdLink, status: 1 }],
        ['a file under a symlinked device folder', { action: 'upload', path: throughDirLink, status: 1 }],
        ['rename onto a symlink', { action: 'rename', path: join(devDir, 'a.tsv'), target_path: fileLink, status: 1 }],
        ['mkdir through a symlink', { action: 'mkdir', path: dirLink, status: 1 }],
      ];
      for (const [what, ev] of cases) {
        const r = await postHook(url, ev, bearer);
        t.equal(r.status, 403, what);
      }
    });

    t.test('bodies over the limit: 413', async (t) => {
      const huge = Buffer.from(
        JSON.stringify({ action: 'upload', path: join(devDir, 'x.tsv'), status: 1, pad: 'x'.repeat(1 << 20) }),
      );
      const declared = await rawPost(
        url,
        '/hooks/sftpgo',
        { authorization: bearer, 'content-type': 'application/json' },
        huge,
      );
      t.equal('status' in declared ? declared.status : declared.error, 413, '1 MiB with Content-Length');
      const chunked = await rawPost(
        url,
        '/hooks/sftpgo',
        { authorization: bearer, 'content-type': 'application/json' },
        huge,
        { chunked: true, firstBytes: 70_000 },
      );
      t.equal('status' in chunked ? chunked.status : chunked.error, 413, '1 MiB chunked (no Content-Length)');
      const justOver = Buffer.from(JSON.stringify({ action: 'upload', pad: 'x'.repeat(64 * 1024) }));
      const over = await rawPost(
        url,
        '/hooks/sftpgo',
        { authorization: bearer, 'content-type': 'application/json' },
        justOver,
      );
      t.equal('status' in over ? over.status : over.error, 413, 'just over 64 KiB');
    });

    t.test('methods and unknown routes', async (t) => {
      const get = await fetch(`${url}/hooks/sftpgo`);
      t.equal(get.status, 405, 'GET on the hook');
      await get.text();
      const post = await fetch(`${url}/metrics`, { method: 'POST', body: '' });
      t.equal(post.status, 405, 'POST on /metrics');
      await post.text();
      t.equal((await serve.get('/nope')).status, 404);
    });

    t.test('the service is unaffected: a valid upload is ingested, nothing outside the root ever is', async (t) => {
      t.equal((await serve.get('/healthz')).status, 200, '/healthz 200');
      t.equal(serve.child.exitCode, null, 'still running');
      const stage = join(base, 'stage');
      const [staged] = writeDeviceFiles(stage, tenant, 'camp', {
        masterSn: serial(1),
        files: 1,
        rows: 80,
        overlap: 0,
        seed: 5,
      });
      const expected = await expectedOf(stage, [staged]);
      const file = join(devDir, 'MV2_valid_20250601_010000.tsv');
      const { renameSync } = await import('node:fs');
      renameSync(staged, file);
      // SFTPGo's hook URL can carry the secret as basic-auth password
      const r = await postHook(url, good(file), basic('sftpgo', HOOK_SECRET));
      t.equal(r.status, 200, 'basic auth with the secret as password');
      t.equal(r.body.result, 'queued');
      t.ok(await waitParsed([file], 30_000), 'the valid upload was ingested');
      // several settle and rescan periods: the watch sees the symlinks too
      await sleep(4000);
      const isLink = (p: string) => {
        try {
          return lstatSync(p).isSymbolicLink();
        } catch {
          return false;
        }
      };
      t.ok(isLink(fileLink), 'the symlink to a file outside is left where it is (not ingested, not moved)');
      t.ok(existsSync(passwdLink), 'the symlink to a non-TSV file outside is left where it is (not moved to error/)');
      t.ok(existsSync(throughDirLink), 'the file under the symlinked device folder is left where it is');
      t.notOk(existsSync(join(outside, tenant, 'camp', serial(9), 'parsed')), 'nothing moved in the folder outside');
      await checkStores(t, db, tenant, [file], expected);
      const m = await serve.metrics();
      t.equal(promValue(m, 'powerview_files_total', { tenant }), 1, 'one file processed, no other');
      t.equal((await serve.get('/healthz')).status, 200, '/healthz still 200');
    });

    t.test('SIGTERM after all that: exit 0', async (t) => {
      serve.child.kill('SIGTERM');
      t.equal((await serve.exited).code, 0);
    });
  },
);

t.test('the scheduler never hands a path through a symlink to the pipeline (whoever queued it)', async (t) => {
  const { Scheduler } = await import('../../src/service/scheduler.js');
  const { realpathSync } = await import('node:fs');
  const base = realpathSync(tempDir(t, 'sched'));
  const root = join(base, 'root');
  const [outsideFile] = writeDeviceFiles(join(base, 'outside'), 'acme', 'camp', {
    masterSn: serial(3),
    files: 1,
    rows: 10,
    overlap: 0,
  });
  const [inside] = writeDeviceFiles(root, 'acme', 'camp', { masterSn: serial(1), files: 1, rows: 10, overlap: 0 });
  const link = join(root, 'acme', 'camp', serial(1), 'MV2_link_20250101_000000.tsv');
  symlinkSync(outsideFile, link);
  const dirLink = join(root, 'acme', 'camp', serial(3));
  symlinkSync(join(base, 'outside', 'acme', 'camp', serial(3)), dirLink);
  const held = new Set<string>();
  const claims = {
    tryClaim: async (f: string) => (held.add(f), true),
    release: async (f: string) => void held.delete(f),
    isHeld: (f: string) => held.has(f),
  };
  const s = new Scheduler(root, claims);
  s.add(link, Date.now());
  s.add(join(dirLink, readdirSync(dirLink)[0]), Date.now());
  s.add(inside, Date.now());
  const got: string[] = [];
  const it = s[Symbol.asyncIterator]();
  const within = async <T>(p: Promise<T>, ms: number): Promise<T | null> => {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([p, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))]);
    clearTimeout(timer);
    return r;
  };
  const next = await within(it.next(), 2000);
  if (next && !next.done) got.push(next.value.path);
  const more = await within(it.next(), 500);
  if (more && !more.done) got.push(more.value.path);
  s.stop();
  t.same(got, [inside], 'only the regular file comes out');
});
