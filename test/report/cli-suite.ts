/**
 * `powerview report` as a process on the demo archive (fixture.ts), for cli*.test.ts: the database, the tenant's
 * report as readCampaignReport reads it, an output folder and the command.
 */
import type { Test } from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCampaignReport } from '../../src/report/read.js';
import type { CampaignReport } from '../../src/report/model.js';
import { runCli, servicesSkip } from '../support/services.js';
import { CAMPAIGN, reportDb } from './fixture.js';

export interface ReportCli {
  dir: string;
  expected: CampaignReport;
  report: (args: string[], extra?: Record<string, string>) => ReturnType<typeof runCli>;
}

/** A suite of `powerview report` runs: `body` adds its subtests. */
export function reportCliSuite(t: Test, name: string, label: string, body: (t: Test, c: ReportCli) => void): void {
  t.test(name, { skip: servicesSkip }, async (t) => {
    const { A, env, loginPool } = await reportDb(t, label);
    const dir = mkdtempSync(join(tmpdir(), 'pv-report-out-'));
    const report = (args: string[], extra: Record<string, string> = {}) =>
      runCli(['report', A, CAMPAIGN, ...args], env, extra);
    const expected = await readCampaignReport(loginPool(A), { tenant: A, campaign: CAMPAIGN });

    body(t, { dir, expected, report });
  });
}
