import { closeSync, fstatSync, openSync, read } from 'node:fs';

/**
 * A file opened for reading: opened, sized and closed synchronously (metadata,
 * util/fs-meta.ts), its bytes read asynchronously, by position. What the
 * parser reads a taken file through: for a small file, one open, one fstat,
 * one read and one close, three of them without a round trip through the
 * thread pool.
 */
export class InputFile {
  private fd: number | null;
  readonly size: number;

  private constructor(fd: number) {
    this.fd = fd;
    try {
      this.size = fstatSync(fd).size;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Throws as open(2) does (ENOENT, EACCES…). */
  static open(path: string): InputFile {
    return new InputFile(openSync(path, 'r'));
  }

  /** Reads up to `length` bytes at `position` into `buf` from `offset`: the count read, 0 at the end. */
  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const fd = this.fd;
    if (fd === null) return Promise.reject(new Error('file closed'));
    return new Promise((resolve, reject) => {
      read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
    });
  }

  /** The whole file as it was sized at open (a regular file's bytes, as FileHandle.readFile reads them). */
  async readAll(): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(this.size);
    let done = 0;
    while (done < buf.length) {
      const n = await this.read(buf, done, buf.length - done, done);
      if (n === 0) break;
      done += n;
    }
    return done === buf.length ? buf : buf.subarray(0, done);
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}
