import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Logger } from 'pino';
import { ErrorCodes, PowerViewError, StoreError, errorMessage } from '../errors.js';
import { StaleCoverageError } from '../postgres/ingest-store.js';
import { moveFinished } from './lifecycle.js';
import { releaseTaken } from './taken.js';
import { errorOf, storeOwned } from './outcomes.js';
import { MAX_REPLANS, type Planner } from './planner.js';
import { emptyFileReport, renderFileReport, type FileError, type FileReport, type FileResults } from './report.js';
import type { InfluxStage } from './influx-stage.js';
import type { PostgresStage } from './postgres-stage.js';
import type { FileAggregates, FileTask } from './pipeline.js';
import { conflictWarnings } from '../model/conflicts.js';

export interface FinisherOptions {
  runId: string;
  /** move files to parsed/ and error/ */
  moveFiles: boolean;
  /** count each file's points back before it goes to parsed/ */
  verify: boolean;
  log?: Logger;
}

/** The file's values so far, as the finish collects them (frozen into FileResults at the end). */
type Draft = { -readonly [K in keyof FileResults]: FileResults[K] } & { warnings: string[] };

/**
 * The Finisher: once the parser handed on a file (its ParsedFile, frozen),
 * it waits for the InfluxDB stage's answer, verifies, hands the file to the
 * PostgreSQL stage, moves it to parsed/ or error/ (lifecycle.ts), records a
 * failure in the ledger, and renders the report once from those values.
 * Returns null when the Planner takes the file back (the fence refused it).
 */
export class Finisher {
  constructor(
    private readonly options: FinisherOptions,
    private readonly influx: InfluxStage,
    private readonly postgres: PostgresStage | null,
    private readonly planner: Planner | null,
  ) {}

  async finish(parsed: Readonly<FileReport>, task: FileTask, agg: FileAggregates | null): Promise<FileReport | null> {
    const t = { parsed: performance.now(), influx: 0, postgres: 0 };
    const written = await this.influx.outcome(task);
    const r: Draft = { parsed, written: written.written, movedTo: null, error: null, warnings: [] };
    const n = this.planner?.replansOf(task) ?? 0;
    if (n) r.warnings.push(`planned again ${n === 1 ? 'once' : `${n} times`}: ${PLANNED_AGAIN}`);
    t.influx = t.postgres = performance.now();
    const failed = parsed.status === 'error' ? parsed.error : null;
    try {
      if (failed && this.postgres && !parsed.sha256) {
        // failed before pass 1 finished hashing it: the ledger still wants its identity
        r.sha256 = await sha256Of(task.taken?.pin ?? task.path).catch(() => undefined);
      }
      if (failed && storeOwned(failed)) {
        // PostgreSQL was not there (or refused us) to plan it: a good file stays where it is, for a later run
      } else if (failed) {
        await this.move(r, task, 'error', failed);
      } else if (written.error) {
        r.error = written.error;
        if (written.rejected) await this.move(r, task, 'error', r.error);
      } else {
        if (this.options.verify) Object.assign(r, await this.influx.verify(parsed));
        if (!r.error && this.planner && agg) {
          if (!(await this.commit(r, task, agg))) return null;
          t.postgres = performance.now();
        }
        if (!r.error) await this.move(r, task, 'parsed');
      }
    } catch (err) {
      r.warnings.push(`could not move the file: ${errorMessage(err)}`);
    } finally {
      this.planner?.release(task);
      // left in place (or the move failed): the pin goes; the bytes read are kept aside if a new version replaced
      // the path (a file planned again keeps its pin: it is read again from the same bytes)
      if (task.taken && !this.planner?.isReplanning(task)) {
        r.warnings.push(...(await keepTaken(task)));
        this.settledTaken.add(task);
      }
    }
    const error = r.error ?? failed;
    // the ledger knows failed files too (with their cause), unless the store itself is what failed
    if (this.postgres && error && !storeOwned(error) && !this.influx.batcher.fatal) {
      const sha256 = parsed.sha256 ?? r.sha256;
      await this.postgres
        .recordFailure({ ...parsed, ...(sha256 ? { sha256 } : {}), status: 'error', error }, this.options.runId)
        .catch((err: unknown) => r.warnings.push(`ledger: ${errorMessage(err)}`));
    }
    const report = renderFileReport(Object.freeze(r));
    this.logFile(report, task, t);
    return report;
  }

  /** Taken files whose pin a finish settled (the job releases the others' at the end). */
  readonly settledTaken = new WeakSet<FileTask>();

  /** The PostgreSQL stage's part; false when the Planner takes the file back. */
  private async commit(r: Draft, task: FileTask, agg: FileAggregates): Promise<boolean> {
    const planned = this.planner!.planned(task);
    r.plan = { layoutDrift: planned?.layoutDrift ?? false, heldPoints: agg.skippedPoints };
    if (planned?.layoutDrift)
      r.warnings.push(
        `header layout differs from the device's known layout (${planned.knownLayout} → ${agg.header.layout})`,
      );
    const drift = { layoutDrift: !!planned?.layoutDrift, knownLayout: planned?.knownLayout ?? null };
    r.warnings.push(...conflictWarnings(agg.conflicts, { ...drift, layout: agg.header.layout }));
    try {
      const done = await this.postgres!.commit(r.parsed, agg, planned, this.options.runId);
      r.ledger = done.ledger;
      r.warnings.push(...done.warnings);
      if (done.quality) r.quality = done.quality;
      if (done.qualityDropped?.length) r.qualityDropped = done.qualityDropped;
      return true;
    } catch (caught) {
      let err = caught;
      if (err instanceof StaleCoverageError) {
        if (this.planner!.replan(task, err)) return false;
        // left in place (the store's, never error/): the next run or serve's retry plans it again
        const why = this.planner!.isStopped
          ? 'the run stopped before a new plan'
          : `still changing after ${MAX_REPLANS} new plans`;
        const message = `${err.message.replace(/: planned again$/, '')}: ${why}, left in place`;
        err = new StoreError(ErrorCodes.STORE_UNAVAILABLE, message);
      }
      r.error = errorOf(
        err instanceof PowerViewError
          ? err
          : new StoreError(ErrorCodes.STORE_REJECTED, `PostgreSQL refused the file's data: ${errorMessage(err)}`),
      );
      // the data itself was refused (retried store failures never get here): the file goes with its cause
      if (!storeOwned(r.error)) await this.move(r, task, 'error', r.error);
      return true;
    }
  }

  private async move(r: Draft, task: FileTask, to: 'parsed' | 'error', error?: FileError): Promise<void> {
    if (this.options.moveFiles) r.movedTo = await moveFinished(task.path, to, error, task.taken);
  }

  private logFile(report: FileReport, task: FileTask, t: { parsed: number; influx: number; postgres: number }) {
    const log = this.options.log;
    if (!log) return;
    const fields = {
      event: 'file',
      path: task.path,
      status: report.status,
      rows: report.rows,
      points: report.points,
      duplicate_rows: report.duplicate_rows,
      moved_to: report.moved_to,
      duration_ms: report.duration_ms,
      // after parsing: waiting for InfluxDB's acknowledgement, then the PostgreSQL commit, then the move
      wait_ms: {
        influx: Math.round(t.influx - t.parsed),
        postgres: Math.round(t.postgres - t.influx),
        move: Math.round(performance.now() - t.postgres),
      },
      ...(report.error ? { code: report.error.code, error: report.error.message } : {}),
    };
    if (report.status === 'ok') log.info(fields, 'file ingested');
    // a store that went away or a claim lost with its PostgreSQL session: the file is fine, kept, and taken again
    else if (!report.moved_to && report.error?.code === ErrorCodes.STORE_UNAVAILABLE)
      log.warn(fields, `file kept in place, retried later: ${report.error.message}`);
    else log.error(fields, 'file failed');
  }
}

/** The report of a file left where it is without being read to the end (refused up front, never reached). */
export function leftInPlace(task: FileTask, error: FileError): FileReport {
  const parsed = { ...emptyFileReport(task.path, task.identity), bytes: task.size ?? 0 };
  return renderFileReport({ parsed, error, movedTo: null, warnings: [] });
}

const PLANNED_AGAIN = 'another process committed coverage of the device after its plan';

/** A taken file left in place: releaseTaken; the warnings name where the bytes read were kept aside. */
export async function keepTaken(task: FileTask): Promise<string[]> {
  try {
    const aside = await releaseTaken(task.path, task.taken!);
    return aside ? [`${task.path} was replaced while it was read: the bytes read are kept as ${aside}`] : [];
  } catch (err) {
    return [`could not release the taken file: ${errorMessage(err)}`];
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
