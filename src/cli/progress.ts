import { SingleBar, Presets } from 'cli-progress';

/** A store being waited for mid-run (the writer's or PostgreSQL's retry). */
export interface StoreWait {
  store: 'influxdb' | 'postgres';
  /** what the store answered: an HTTP status, a network error code, a cause */
  cause: string;
  /** 1 for the first retry */
  attempt: number;
  delayMs: number;
}

const STORE_NAMES = { influxdb: 'InfluxDB', postgres: 'PostgreSQL' } as const;

/** "waiting for InfluxDB: 503, retry 4 in 8 s": what the progress line says while a store is down. */
export function describeWait(w: StoreWait): string {
  const seconds = Math.max(1, Math.round(w.delayMs / 1000));
  return `waiting for ${STORE_NAMES[w.store]}: ${w.cause}, retry ${w.attempt} in ${seconds} s`;
}

/**
 * The progress bar on a terminal: bytes done, files (failed ones apart), points/s, ETA, and the
 * store being waited for. The bar counts the bytes of failed files out, so a run whose every
 * file failed never shows 100 %.
 */
export class Progress {
  private readonly bar = new SingleBar(
    {
      format:
        ' {bar} {percentage}% | {files}/{totalFiles} files | {failed}{mpts} Mpoints/s | ETA {eta_formatted}{status}',
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  private readonly t0 = performance.now();
  private bytes = 0;
  private failedBytes = 0;
  private failed = 0;
  private waiting: { text: string; until: number } | null = null;

  constructor(totalBytes: number, files: number) {
    this.bar.start(Math.max(totalBytes, 1), 0, { files: 0, totalFiles: files, mpts: '0.0', failed: '', status: '' });
  }

  readonly update = (p: { bytes: number; points: number; files: number }): void => {
    const secs = (performance.now() - this.t0) / 1000;
    this.bytes = p.bytes;
    this.bar.update(this.value(), { files: p.files, mpts: (p.points / secs / 1e6).toFixed(2), ...this.payload() });
  };

  /** a file's outcome is final: a failed one is counted apart and its bytes leave the bar */
  readonly fileDone = (r: { status: string; bytes: number }): void => {
    if (r.status === 'ok') return;
    this.failed++;
    this.failedBytes += r.bytes;
    this.bar.update(this.value(), this.payload());
  };

  /** a store is waited for: said on the bar until the retry is due */
  readonly storeWait = (w: StoreWait): void => {
    this.waiting = { text: describeWait(w), until: Date.now() + w.delayMs + 1000 };
    this.bar.update(this.value(), this.payload());
  };

  stop(): void {
    this.bar.stop();
  }

  private value(): number {
    return Math.max(0, this.bytes - this.failedBytes);
  }

  private payload(): { failed: string; status: string } {
    if (this.waiting && Date.now() > this.waiting.until) this.waiting = null;
    return {
      failed: this.failed ? `${this.failed} failed | ` : '',
      status: this.waiting ? ` | ${this.waiting.text}` : '',
    };
  }
}
