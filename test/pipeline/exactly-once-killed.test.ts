/**
 * Exactly-once over a file's life: an ingest killed (SIGKILL) at random moments then run again ends in the same
 * state as an uninterrupted run (test/support/lifecycle-suite.ts).
 */
import t from 'tap';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateArchive, writeFile as writeTsv } from '../../fixtures/generate.js';
import { influxCount } from '../support/services.js';

import { hourly, ingest, lifecycleSuite } from '../support/lifecycle-suite.js';

t.setTimeout(900_000);

lifecycleSuite(t, 'PostgreSQL lifecycle: killed and run again', (t, { env, pool, dbs }) => {
  t.test(
    'killed (SIGKILL) at random moments, then run again: the same aggregates, ledger and InfluxDB counts as an uninterrupted run',
    async (t) => {
      const spec = {
        campaign: 'k',
        devices: 3,
        files: 24,
        rows: 1500,
        channels: 12,
        slaves: 1,
        format: 'v003' as const,
        step: 60,
        start: Date.UTC(2025, 5, 1) / 1000,
        defects: [],
        seed: 21,
      };
      // overlapping re-exports: every device's files overlap the previous one by a third
      const make = async (company: string) => {
        const root = mkdtempSync(join(tmpdir(), 'pv-kill-'));
        await generateArchive({ out: root, company, ...spec });
        // shift every second file back by 500 rows: overlaps (regenerate those with an earlier start)
        for (const device of readdirSync(join(root, company, 'k'))) {
          const files = readdirSync(join(root, company, 'k', device)).sort();
          for (let i = 1; i < files.length; i += 2) {
            await writeTsv(join(root, company, 'k', device, files[i]), {
              format: 'v003',
              masterSn: device,
              channels: 6,
              slaves: 1,
              slaveChannels: 6,
              rows: 1500,
              start: spec.start + (i * 1500 - 500) * 60,
              step: 60,
              defects: [],
              seed: 1000 + i,
            });
          }
        }
        return root;
      };
      const reference = `killref_${process.pid}`;
      const killed = `killed_${process.pid}`;
      dbs.push(reference, killed);
      const refRoot = await make(reference);
      const once = (root: string) => ingest(env, root, [root], ['--workers', '1']);
      t.equal((await once(refRoot)).code, 0);
      const killRoot = await make(killed);
      let kills = 0;
      for (let attempt = 0; attempt < 12; attempt++) {
        const run = once(killRoot);
        const delay = 150 + Math.floor(Math.random() * 1200);
        const early = await Promise.race([run.then(() => true), sleep(delay).then(() => false)]);
        if (early) break;
        run.child.kill('SIGKILL');
        await run;
        kills++;
      }
      const last = await once(killRoot);
      t.equal(last.code, 0, last.stderr.slice(-500));
      t.ok(kills > 0, `killed ${kills} times`);
      t.same(await hourly(pool, killed), await hourly(pool, reference), 'the same hourly aggregates');
      const ledger = async (tenant: string) =>
        (
          await pool.query(
            'SELECT count(*)::int AS n, sum(points)::bigint AS p FROM core.files WHERE tenant = $1 AND status = $2',
            [tenant, 'ok'],
          )
        ).rows[0];
      const lk = await ledger(killed);
      const lr = await ledger(reference);
      t.equal(lk.n, lr.n, 'the same ledger rows');
      t.equal(lk.p, lr.p, 'the same points in the ledger');
      t.equal(await influxCount(env, killed), await influxCount(env, reference), 'the same InfluxDB count');
    },
  );
});
