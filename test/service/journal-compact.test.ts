/**
 * Journal compaction of a large backlog runs beside the event loop: an HTTP
 * request (a hook call, /metrics) is answered while it compacts, and the
 * event loop turns many times during it (the old code wrote and fsynced the
 * whole backlog in one synchronous step). The compacted journal holds exactly
 * the remaining events.
 */
import t from 'tap';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPACT_CHUNK, Journal, type JournalEvent } from '../../src/service/journal.js';

t.test('a hook is answered while the journal compacts a large backlog', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pv-journal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const journal = new Journal(join(dir, 'events.jsonl'));
  await journal.open();
  const backlog: JournalEvent[] = [];
  for (let i = 0; i < 200_000; i++)
    backlog.push({
      kind: 'upload',
      path: `/srv/data/acme/camp/02100000/T302_251012_${String(i).padStart(6, '0')}.tsv`,
      at: 1_700_000_000_000 + i,
    });
  const server: Server = createServer((_req, res) => res.end('queued'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;

  let compacted = false;
  let turns = 0;
  const spin = (): void => {
    if (compacted) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  const compaction = journal.compact(() => backlog).then(() => (compacted = true));
  const answeredDuring = await new Promise<boolean>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/hooks/sftpgo', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(!compacted));
    }).on('error', reject);
  });
  await compaction;
  t.ok(answeredDuring, 'the request was answered before the compaction ended');
  const chunks = Math.ceil(backlog.length / COMPACT_CHUNK);
  t.ok(
    turns >= chunks,
    `the event loop turned ${turns} times during the compaction (at least once per chunk of ${COMPACT_CHUNK}: ${chunks})`,
  );
  await journal.close();
  const back = new Journal(journal.path).load();
  t.equal(back.length, backlog.length, 'the compacted journal holds every remaining event');
  t.same(back[back.length - 1], backlog[backlog.length - 1]);
});
