import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { ErrorCodes, UsageError } from '../errors.js';
import { once } from 'node:events';
import type { FileTask } from './parser.js';
import type { LpSink as LineSink } from '../util/lp-sink.js';

/** Where the pipeline's line protocol goes (src/util/lp-sink.ts), by file task. */
export type LpSink = LineSink<FileTask>;

/** --dry-run without --lp-out: the line protocol is built, counted and dropped. */
export class CountingSink implements LpSink {
  bytes = 0;
  write(chunk: Uint8Array): void {
    this.bytes += chunk.length;
  }
  async close(): Promise<void> {}
}

/** --lp-out FILE|-: the line protocol that would be sent, in file order, with backpressure. */
export class StreamSink implements LpSink {
  private readonly stream: NodeJS.WritableStream;
  private readonly owned: boolean;
  private failure: Error | null = null;
  bytes = 0;

  constructor(target: string) {
    if (target === '-') {
      this.stream = process.stdout;
      this.owned = false;
    } else {
      let fd: number;
      try {
        fd = openSync(target, 'w');
      } catch (err) {
        throw new UsageError(`--lp-out: cannot write ${target}: ${(err as Error).message}`, ErrorCodes.CONFIG);
      }
      const ws: WriteStream = createWriteStream(target, { fd });
      this.stream = ws;
      this.owned = true;
    }
    this.stream.on('error', (err: Error) => {
      this.failure = err;
    });
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    this.bytes += chunk.length;
    // wait for the write itself: the pipeline reuses the chunk's memory afterwards
    await new Promise<void>((resolve, reject) => {
      this.stream.write(chunk, (err?: Error | null) => (err ? reject(err) : resolve()));
    });
  }

  async close(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.owned) {
      // owned: the stream is the fs.WriteStream this sink opened itself
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
      const ws = this.stream as WriteStream;
      ws.end();
      await once(ws, 'finish');
    }
  }
}
