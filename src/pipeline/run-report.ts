import { closeSync, createReadStream, createWriteStream, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { addToTotals, emptyTotals, type FileReport, type RunReport, type RunTotals } from './report.js';

/**
 * Collects a run's file reports without holding them all: each goes to a
 * spool file as it is final, and the report file is assembled from it at the
 * end. In memory: the totals and at most `keep` reports (failures first), for
 * the summary table and callers. A ten-year backfill of a million files costs
 * disk, not memory.
 */
export class RunReportWriter {
  readonly totals: RunTotals = emptyTotals();
  private readonly keep: number;
  private readonly kept: FileReport[] = [];
  private okKept = 0;
  private spoolFd: number | null = null;
  private readonly spoolPath: string | null;
  readonly path: string | null;
  private spoolError: Error | null = null;
  /** reports not kept in memory (they are in the file) */
  omitted = 0;

  /** `recent`: the newest reports (failures and successes in two rings of keep/2), not the first ones */
  private readonly rings: { ok: Ring<FileReport>; failed: Ring<FileReport> } | null;

  /**
   * `dir`: where the report goes (null: memory only, every report kept, unless `recent`).
   * `recent`: a run that never ends (serve): at most `keep` reports in memory, with or without a
   * folder, the most recent ones (half of them the latest failures); the totals count every file.
   */
  constructor(dir: string | null, name: string, keep = 2000, options: { recent?: boolean } = {}) {
    this.keep = dir || options.recent ? keep : Number.POSITIVE_INFINITY;
    const failedCap = Math.max(1, Math.floor(keep / 2));
    this.rings = options.recent ? { failed: new Ring(failedCap), ok: new Ring(Math.max(1, keep - failedCap)) } : null;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      this.path = join(dir, name);
      this.spoolPath = `${this.path}.files.jsonl`;
      this.spoolFd = openSync(this.spoolPath, 'w');
    } else {
      this.path = null;
      this.spoolPath = null;
    }
  }

  add(report: FileReport): void {
    addToTotals(this.totals, report);
    if (this.spoolFd !== null && !this.spoolError) {
      try {
        writeSync(this.spoolFd, `${JSON.stringify(report)}\n`);
      } catch (err) {
        // disk full, say: the run goes on, the report file will be missing (finish() says why)
        this.spoolError = err as Error;
      }
    }
    if (this.rings) {
      if ((report.status === 'ok' ? this.rings.ok : this.rings.failed).push(report)) this.omitted++;
      return;
    }
    if (this.kept.length < this.keep && (report.status !== 'ok' || this.okKept < this.keep / 2)) {
      this.kept.push(report);
      if (report.status === 'ok') this.okKept++;
    } else this.omitted++;
  }

  /** The reports kept in memory, in path order. */
  files(): FileReport[] {
    const kept = this.rings ? [...this.rings.failed.items(), ...this.rings.ok.items()] : this.kept;
    return [...kept].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Writes the report file: `head`'s fields, every file's report from the spool, the totals. */
  async finish(head: Omit<RunReport, 'files' | 'totals'>): Promise<string | null> {
    if (this.spoolFd === null || !this.path || !this.spoolPath) return null;
    closeSync(this.spoolFd);
    this.spoolFd = null;
    if (this.spoolError) {
      rmSync(this.spoolPath, { force: true });
      throw this.spoolError;
    }
    const out = createWriteStream(this.path);
    let failure: Error | null = null;
    const failed = new Promise<never>((_, reject) =>
      out.once('error', (err) => {
        failure = err;
        reject(err);
      }),
    );
    failed.catch(() => {});
    const write = async (text: string) => {
      if (failure) throw failure;
      if (!out.write(text)) await Promise.race([once(out, 'drain'), failed]);
    };
    const headText = JSON.stringify({ ...head, report_path: this.path, files_omitted: this.omitted }, null, 2);
    await write(`${headText.slice(0, -2)},\n  "totals": ${JSON.stringify(this.totals)},\n  "files": [`);
    let first = true;
    const lines = createInterface({ input: createReadStream(this.spoolPath), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line) continue;
      await write(`${first ? '\n    ' : ',\n    '}${line}`);
      first = false;
    }
    await write(`${first ? '' : '\n  '}]\n}\n`);
    out.end();
    await Promise.race([once(out, 'finish'), failed]);
    rmSync(this.spoolPath, { force: true });
    return this.path;
  }

  /** Removes the spool when the run could not finish its report. */
  discard(): void {
    if (this.spoolFd !== null) closeSync(this.spoolFd);
    this.spoolFd = null;
    if (this.spoolPath) rmSync(this.spoolPath, { force: true });
  }
}

/** A fixed-capacity ring: the newest `cap` items. */
class Ring<T> {
  private readonly slots: T[] = [];
  private next = 0;

  constructor(private readonly cap: number) {}

  /** Adds `item`; true when it pushed the oldest one out. */
  push(item: T): boolean {
    if (this.slots.length < this.cap) {
      this.slots.push(item);
      return false;
    }
    this.slots[this.next] = item;
    this.next = (this.next + 1) % this.cap;
    return true;
  }

  items(): T[] {
    return [...this.slots.slice(this.next), ...this.slots.slice(0, this.next)];
  }
}
