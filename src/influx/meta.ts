import { Point } from '@influxdata/influxdb3-client';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { InfluxWriter } from './writer.js';

/** Meta database measurements, as the earlier deployment wrote them (docs/architecture.md#influxdb-output). */
export const META_FILE = 'tsv_parser_file';
export const META_RUN = 'tsv_parser_run';

interface Counted {
  readonly count: number;
}

/** What a file summary reads of a file's report (src/pipeline/report.ts FileReport has it all). */
export interface FileSummary {
  readonly path: string;
  readonly tenant: string;
  readonly campaign: string;
  readonly device: string | null;
  readonly master_sn: string | null;
  readonly status: string;
  readonly format: string | null;
  readonly bytes: number;
  readonly rows: number;
  readonly points: number;
  readonly invalid_timestamps: Counted;
  readonly invalid_values: Counted;
  readonly truncated_rows: Counted;
  readonly duplicate_rows: number;
  readonly duration_ms: number;
  readonly time_range: { readonly first: string; readonly last: string } | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** What the run summary reads of the run's report (src/pipeline/report.ts RunReport). */
export interface RunSummary {
  readonly run_id: string;
  readonly duration_ms: number;
  readonly points_per_second: number;
  readonly peak_rss_bytes: number;
  readonly totals: {
    readonly files: number;
    readonly files_ok: number;
    readonly files_failed: number;
    readonly bytes: number;
    readonly rows: number;
    readonly points: number;
    readonly invalid_timestamps: number;
    readonly invalid_values: number;
    readonly truncated_rows: number;
    readonly duplicate_rows: number;
  };
}

/** One `tsv_parser_file` point: outcome and counts of one file (low volume: built with the client's Point). */
export function fileSummaryLine(runId: string, file: FileSummary, at: Date): string {
  const p = Point.measurement(META_FILE)
    .setTag('company', file.tenant)
    .setTag('campaign', file.campaign)
    .setTag('device', file.master_sn ?? file.device ?? 'unknown')
    .setTag('status', file.status)
    .setStringField('run_id', runId)
    .setStringField('file', file.path)
    .setStringField('format', file.format ?? '')
    .setIntegerField('bytes', file.bytes)
    .setIntegerField('rows', file.rows)
    .setIntegerField('points', file.points)
    .setIntegerField('invalid_timestamps', file.invalid_timestamps.count)
    .setIntegerField('invalid_values', file.invalid_values.count)
    .setIntegerField('truncated_rows', file.truncated_rows.count)
    .setIntegerField('duplicate_rows', file.duplicate_rows)
    .setIntegerField('duration_ms', file.duration_ms)
    .setTimestamp(at);
  if (file.time_range)
    p.setStringField('first_time', file.time_range.first).setStringField('last_time', file.time_range.last);
  if (file.error) p.setStringField('error_code', file.error.code).setStringField('error', file.error.message);
  return p.toLineProtocol('ns')!;
}

/** One `tsv_parser_run` point: the run's totals. */
export function runSummaryLine(run: RunSummary, at: Date): string {
  const t = run.totals;
  return Point.measurement(META_RUN)
    .setTag('status', t.files_failed > 0 ? 'partial' : 'ok')
    .setStringField('run_id', run.run_id)
    .setIntegerField('files', t.files)
    .setIntegerField('files_ok', t.files_ok)
    .setIntegerField('files_failed', t.files_failed)
    .setIntegerField('bytes', t.bytes)
    .setIntegerField('rows', t.rows)
    .setIntegerField('points', t.points)
    .setIntegerField('invalid_timestamps', t.invalid_timestamps)
    .setIntegerField('invalid_values', t.invalid_values)
    .setIntegerField('truncated_rows', t.truncated_rows)
    .setIntegerField('duplicate_rows', t.duplicate_rows)
    .setIntegerField('duration_ms', run.duration_ms)
    .setIntegerField('points_per_second', run.points_per_second)
    .setIntegerField('peak_rss_bytes', run.peak_rss_bytes)
    .setTimestamp(at)
    .toLineProtocol('ns')!;
}

/**
 * Run and file summaries to the meta database, sent in batches as files
 * finish (a long run holds at most one batch of them); a failure there is a
 * warning, never a file's failure.
 */
export class MetaSummaries {
  private lines: string[] = [];
  private sending: Promise<void> = Promise.resolve();
  private failure: string | null = null;
  private seq = 0;

  constructor(
    private readonly writer: InfluxWriter,
    private readonly db: string,
    private readonly runId: string,
    private readonly log?: Logger,
  ) {}

  file(report: FileSummary): void {
    this.lines.push(this.stamp(fileSummaryLine(this.runId, report, new Date())));
    if (this.lines.length >= 1000) this.flush();
  }

  /**
   * Sends what is left and the run's line; resolves with the failure, if any.
   * With `waitMs` (serve's shutdown) it is best effort: past that wait the
   * summaries still unsent are dropped (logged; the meta database never
   * holds files or data, a later run writes its own) and the caller stops the
   * writer's retries.
   */
  async finish(run: RunSummary, waitMs?: number): Promise<string | null> {
    this.lines.push(this.stamp(runSummaryLine(run, new Date())));
    const pending = this.lines.length;
    this.flush();
    if (waitMs === undefined) {
      await this.sending;
      return this.failure;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      this.sending.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), waitMs))),
    ]);
    clearTimeout(timer);
    if (late && !this.failure) {
      this.failure = `not acknowledged within ${Math.round(waitMs / 1000)} s: dropped`;
      this.log?.warn(
        { event: 'meta', db: this.db, lines: pending, error: this.failure },
        'summaries not written to the meta database',
      );
    }
    return this.failure;
  }

  /** distinct nanosecond stamps: two files of one device finished in the same millisecond stay two points */
  private stamp(line: string): string {
    const n = this.seq++ % 1_000_000;
    return line.replace(/ (\d+)$/, (_, ns: string) => ` ${BigInt(ns) + BigInt(n)}`);
  }

  private flush(): void {
    const lines = this.lines;
    this.lines = [];
    if (lines.length === 0) return;
    this.sending = this.sending.then(async () => {
      if (this.failure) return;
      const body = Buffer.from(`${lines.join('\n')}\n`);
      try {
        const out = await this.writer.send(
          this.db,
          body,
          [{ file: null, start: 0, end: body.length, lines: lines.length }],
          'ns',
        );
        const rejected = out.find((o) => o.rejection)?.rejection;
        if (rejected) throw rejected;
      } catch (err) {
        // already dropped past finish()'s wait: said once
        if (this.failure) return;
        this.failure = errorMessage(err);
        this.log?.warn(
          { event: 'meta', db: this.db, error: this.failure },
          'summaries not written to the meta database',
        );
      }
    });
  }
}
