/**
 * The commit fence (migration 010): a plan remembers the device's coverage
 * version it read with the committed coverage; a commit refuses the plan when
 * another process committed coverage of that device since (its points would be
 * counted twice), writes nothing, and the same file planned again commits.
 * Commits of the planning process itself never make its plans stale.
 */
import t from 'tap';
import { IngestStore, type CommitInput } from '../../src/postgres/ingest-store.js';
import { migrate } from '../../src/postgres/migrate.js';
import { emptyFileReport } from '../../src/pipeline/report.js';
import type { FileHeader } from '../../src/tsv/header.js';
import { servicesSkip } from '../support/services.js';
import { testDatabase } from '../support/postgres-db.js';

const SN = '02009001';
const header = {
  format: 'v003',
  formatId: 'MV_T302_V003',
  masterSn: SN,
  masterType: 'tri',
  channels: [
    {
      column: 1,
      deviceSn: SN,
      deviceType: 'master',
      label: 'P1',
      name: 'P1',
      unit: 'W',
      channelId: `${SN}_P1`,
      fieldKey: 'P1',
    },
  ],
  meta: null,
  dataOffset: 0,
  dataLine: 1,
  expectsEndData: false,
  warnings: [],
  layout: 'L1',
} as unknown as FileHeader;

let n = 0;
function input(start: number, rows: number, planVersion: number | null): CommitInput {
  n++;
  const report = emptyFileReport(`/data/acme/c${n}/${SN}/T302_25030${n}_000000.tsv`, {
    tenant: 'acme',
    campaign: `c${n}`,
  });
  report.rows = rows;
  report.points = rows;
  return {
    report,
    agg: {
      sha256: `${n}`.padStart(64, '0'),
      header,
      hourly: new Map(),
      coverage: [[{ start, step: 600, n: rows }]],
      skippedPoints: 0,
      noop: null,
    },
    runId: '00000000-0000-0000-0000-000000000000',
    layoutDrift: false,
    replace: null,
    planVersion,
  };
}

t.setTimeout(600_000);

t.test(
  'a plan made against coverage another process changed since is refused; planned again it commits',
  { skip: servicesSkip },
  async (t) => {
    const db = await testDatabase(t, 'fence');
    await migrate(db.pool);
    // two processes: two stores, each with its own record of its commits
    const a = new IngestStore(db.pool, { lingerMs: 0 });
    const b = new IngestStore(db.pool, { lingerMs: 0 });
    for (let k = 1; k <= 5; k++) await a.ensureTenant('acme', `c${k}`);
    const T = 1_740_960_000;

    const planA = await a.coverageVersioned('acme', SN, T, T + 6000, null);
    const planB = await b.coverageVersioned('acme', SN, T, T + 6000, null);
    t.equal(planA.version, 0);
    t.equal(planA.runs.size, 0, 'nothing committed yet');

    // B commits first; A's plan did not see B's coverage
    await b.commitFile(input(T, 10, planB.version));
    const stale = input(T, 10, planA.version);
    await t.rejects(a.commitFile(stale), { name: 'StaleCoverageError' }, 'the stale plan is refused');
    const files = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM core.files WHERE sha256 = $1', [
      stale.agg.sha256,
    ]);
    t.equal(files.rows[0].n, 0, 'the refused commit wrote nothing');

    // planned again: sees B's coverage and the new version, commits
    const again = await a.coverageVersioned('acme', SN, T, T + 6000, null);
    t.equal(again.version, 1);
    t.same(again.runs.get(`${SN}_P1`), [{ start: T, step: 600, n: 10 }], "B's coverage is in the new plan");
    await a.commitFile({ ...stale, planVersion: again.version });

    // A's own commits do not make A's plans stale (two files of one run, planned before either commits)
    const v = (await a.coverageVersioned('acme', SN, T, T + 60000, null)).version;
    await a.commitFile(input(T + 6000, 10, v));
    await a.commitFile(input(T + 12000, 10, v));
    // but B's plan from before those is stale
    await t.rejects(
      b.commitFile(input(T + 18000, 10, v)),
      { name: 'StaleCoverageError' },
      "A's commits make B's older plan stale",
    );
    t.equal(await a.coverageVersion('acme', SN), 4, 'one version per commit, none for the refused ones');
    // an unfenced commit (no plan version: nothing read) is not refused
    await b.commitFile(input(T + 24000, 10, null));
    t.equal(await b.coverageVersion('acme', SN), 5);
  },
);

t.test(
  "the planner's one-statement look-up: the same bytes' ledger row, the version and the runs in range",
  { skip: servicesSkip },
  async (t) => {
    const db = await testDatabase(t, 'planlookup');
    await migrate(db.pool);
    const store = new IngestStore(db.pool, { lingerMs: 0 });
    const T = 1_740_960_000;
    for (let k = 1; k <= 3; k++) await store.ensureTenant('acme', `c${k}`);
    const empty = await store.planLookup('acme', 'f'.repeat(64), SN, { from: T, to: T + 6000 });
    t.same(empty, { known: null, runs: new Map(), version: 0 }, 'nothing known yet: no row, version 0');

    const first = input(T, 10, 0);
    await store.commitFile(first);
    await store.commitFile(input(T + 60_000, 10, 1));
    const same = await store.planLookup('acme', first.agg.sha256, SN, { from: T + 3000, to: T + 9000 });
    t.equal(same.known?.status, 'ok', 'the same bytes: their ledger row');
    t.equal(same.known?.path, first.report.path, '… with the earlier path');
    t.equal(same.version, 2, 'the version after two commits');
    t.same(same.runs.get(`${SN}_P1`), [{ start: T, step: 600, n: 10 }], 'only the run reaching into the range');

    const other = await store.planLookup('acme', 'e'.repeat(64), SN, { from: T, to: T + 120_000 });
    t.equal(other.known, null, 'other bytes: no ledger row');
    t.equal(other.runs.get(`${SN}_P1`)?.length, 2, 'both runs in a range over both');
    const noRows = await store.planLookup('acme', first.agg.sha256, SN, null);
    t.equal(noRows.runs.size, 0, 'a file without rows reads no coverage');
    t.equal(noRows.version, 2, '… but the version');
    t.ok(noRows.known, '… and the ledger row');
    const otherTenant = await store.planLookup('zeta', first.agg.sha256, SN, { from: T, to: T + 120_000 });
    t.same(otherTenant, { known: null, runs: new Map(), version: 0 }, "another tenant sees none of acme's");
  },
);
