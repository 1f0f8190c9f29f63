/**
 * Re-export conflicts (docs/reports.md#re-export-conflicts): the points a
 * file holds (an earlier file brought them: skipped in both stores) are
 * compared with the values InfluxDB holds, value by value. Only files with
 * held points pay for it; a file's held points are buffered up to
 * CHUNK_POINTS, then compared window by window, beside the parser (WINDOW_ROWS timestamps at
 * the file's step, FIELDS_PER_QUERY fields per query), so memory is bounded
 * whatever the overlap. A query that fails is the store's failure (the file
 * stays where it is, retried later), never the file's.
 */
import type { FileHeader } from '../tsv/header.js';
import type { StoredValues } from '../influx/points-query.js';
import { CONFLICT_EXAMPLES, type ConflictExample, type ConflictSummary } from '../model/conflicts.js';

/** held points buffered per file before they are compared */
export const CHUNK_POINTS = 50_000;
/** timestamps (at the file's step) per query window */
export const WINDOW_ROWS = 2_000;
/** fields per query */
export const FIELDS_PER_QUERY = 64;
/** chunks of a file waiting for their comparison before the parser waits too */
export const CHUNKS_QUEUED = 2;

/** Where the stored values come from (the InfluxDB stage). */
export interface ConflictSource {
  /** one device's fields over [from, to] (epoch s); throws a StoreError when the store cannot answer */
  values(db: string, masterSn: string, fields: string[], from: number, to: number): Promise<StoredValues>;
  /** every line handed to the store so far is answered: this run's earlier files are readable */
  barrier(): Promise<void>;
}

const iso = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');

/** Held points buffered for one comparison step. */
interface Chunk {
  chan: Uint16Array;
  time: Uint32Array;
  value: Float64Array;
  size: number;
}

const newChunk = (): Chunk => ({
  chan: new Uint16Array(CHUNK_POINTS),
  time: new Uint32Array(CHUNK_POINTS),
  value: new Float64Array(CHUNK_POINTS),
  size: 0,
});

/**
 * One file's comparison, fed block by block in file order. A full chunk is
 * compared beside the caller (the parser goes on with other files); add()
 * asks the caller to wait only while CHUNKS_QUEUED chunks of the file are
 * still to compare, so a file's memory stays bounded whatever the store's pace.
 */
export class FileConflicts {
  private chunk: Chunk = newChunk();
  private readonly spare: Chunk[] = [];
  /** chunks handed to the comparison and not yet compared */
  private queued = 0;
  /** the comparisons, one chunk after another; never rejects (the failure is kept) */
  private work: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | null = null;
  private compared = 0;
  private conflicting = 0;
  private missing = 0;
  private largest: ConflictExample | null = null;
  private readonly examples: ConflictExample[] = [];
  private range: { from: number; to: number } | null = null;
  private readonly perChannel = new Map<number, { compared: number; conflicting: number }>();
  private barrierDone: boolean;

  constructor(
    private readonly source: ConflictSource,
    private readonly db: string,
    private readonly header: FileHeader,
    private readonly step: number,
    /** held points come from this run's files too: their lines must be answered before the first query */
    needsBarrier: boolean,
  ) {
    this.barrierDone = !needsBarrier;
  }

  /**
   * A block's held cells (row-major index into epochs × channels) and the file's values for them, copied. Returns a
   * promise to wait for when the file's comparison is CHUNKS_QUEUED chunks behind, null otherwise.
   */
  add(epochs: Uint32Array, cells: Uint32Array, values: Float64Array): Promise<void> | null {
    if (this.failure) return null;
    const n = this.header.channels.length;
    for (let i = 0; i < cells.length; i++) {
      if (this.chunk.size === CHUNK_POINTS) this.hand();
      const k = this.chunk.size++;
      this.chunk.chan[k] = cells[i] % n;
      this.chunk.time[k] = epochs[Math.floor(cells[i] / n)];
      this.chunk.value[k] = values[i];
    }
    return this.queued >= CHUNKS_QUEUED ? this.work : null;
  }

  /** The file's last block was added: the summary, once every chunk is compared (a store failure throws). */
  async finish(): Promise<ConflictSummary> {
    if (this.chunk.size > 0) this.hand();
    await this.work;
    if (this.failure) throw this.failure.error;
    const channels = [...this.perChannel]
      .filter(([, c]) => c.conflicting > 0)
      .map(([c, s]) => ({ channel_id: this.header.channels[c].channelId, ...s }));
    return {
      compared: this.compared,
      conflicting: this.conflicting,
      missing: this.missing,
      largest: this.largest,
      examples: this.examples,
      range: this.range,
      channels,
    };
  }

  /** The current chunk goes to the comparison; the next points fill a spare one. */
  private hand(): void {
    const chunk = this.chunk;
    this.chunk = this.spare.pop() ?? newChunk();
    this.queued++;
    this.work = this.work
      .then(() => (this.failure ? undefined : this.compareChunk(chunk)))
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.queued--;
        chunk.size = 0;
        this.spare.push(chunk);
      });
  }

  private async compareChunk(chunk: Chunk): Promise<void> {
    if (!this.barrierDone) {
      await this.source.barrier();
      this.barrierDone = true;
    }
    const { time, chan } = chunk;
    const order = Uint32Array.from({ length: chunk.size }, (_, i) => i).sort(
      (a, b) => time[a] - time[b] || chan[a] - chan[b],
    );
    const span = WINDOW_ROWS * Math.max(1, this.step);
    for (let i = 0; i < order.length;) {
      const start = time[order[i]];
      let j = i;
      while (j < order.length && time[order[j]] - start < span) j++;
      await this.compareWindow(chunk, order.subarray(i, j));
      i = j;
    }
  }

  /** Points of one window, sorted by time: queried by groups of fields, then compared. */
  private async compareWindow(chunk: Chunk, points: Uint32Array): Promise<void> {
    const from = chunk.time[points[0]];
    const to = chunk.time[points[points.length - 1]];
    const channels = [...new Set(Array.from(points, (p) => chunk.chan[p]))].sort((a, b) => a - b);
    for (let g = 0; g < channels.length; g += FIELDS_PER_QUERY) {
      const group = new Set(channels.slice(g, g + FIELDS_PER_QUERY));
      const fields = [...group].map((c) => this.header.channels[c].fieldKey);
      const stored = await this.source.values(this.db, this.header.masterSn, fields, from, to);
      for (const p of points) if (group.has(chunk.chan[p])) this.compare(chunk, p, stored);
    }
  }

  private compare(chunk: Chunk, p: number, stored: StoredValues): void {
    const c = chunk.chan[p];
    const t = chunk.time[p];
    const held = stored.get(this.header.channels[c].fieldKey)?.get(t);
    if (held === undefined) {
      this.missing++;
      return;
    }
    const stats = this.perChannel.get(c) ?? { compared: 0, conflicting: 0 };
    this.perChannel.set(c, stats);
    this.compared++;
    stats.compared++;
    const v = chunk.value[p];
    // the same decimal parsed the same way (correctly rounded) is the same float: equality is exact
    if (held === v) return;
    this.conflicting++;
    stats.conflicting++;
    const ex: ConflictExample = {
      channel_id: this.header.channels[c].channelId,
      time: iso(t),
      stored: held,
      file: v,
      // the decimals' difference, without the float subtraction's noise (4262.099999999999 → 4262.1)
      difference: Number(Math.abs(v - held).toPrecision(12)),
    };
    if (this.examples.length < CONFLICT_EXAMPLES) this.examples.push(ex);
    if (!this.largest || ex.difference > this.largest.difference) this.largest = ex;
    this.range = { from: Math.min(this.range?.from ?? t, t), to: Math.max(this.range?.to ?? t, t) };
  }
}
