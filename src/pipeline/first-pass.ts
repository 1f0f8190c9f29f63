import { createHash } from 'node:crypto';
import type { InputFile } from '../util/input-file.js';
import { FileFormatError, ErrorCodes } from '../errors.js';
import type { Finding } from '../model/quality.js';
import { fileGaps, gapFinding } from '../quality/gaps.js';
import type { Thresholds } from '../quality/thresholds.js';
import { FileScanner, type ScanResult } from '../tsv/scanner.js';
import { EPOCH_MIN_VALID } from '../tsv/timestamp.js';
import { TimeZoneRules } from '../tsv/timezone.js';

const READ_CHUNK = 1 << 20;

export interface FirstPassOptions {
  blockBytes: number;
  v002TimeZone: string;
  /** files up to this size are read once and kept for pass 2 */
  keepWholeBytes: number;
  /** hash the bytes (the file's identity in the ledger) */
  hash: boolean;
}

/**
 * Pass 1 over an open file (src/tsv/scanner.ts): the header and every row's time, hashed on the way. A file that
 * fits in `keepWholeBytes` is read once and kept (`whole`) so pass 2 cuts its blocks from memory; a larger one is
 * read by 1 MiB chunks and read again by block.
 */
export async function firstPass(
  file: InputFile,
  o: FirstPassOptions,
): Promise<{ whole: Buffer | null; scan: ScanResult; sha256: string | null }> {
  const scanner = new FileScanner({
    blockBytes: o.blockBytes,
    v002TimeZone: o.v002TimeZone,
    isValidZone: (zone: string) => TimeZoneRules.isValid(zone),
  });
  // a logger file usually fits in one read: keep it for pass 2 instead of reading it again
  const whole = file.size <= o.keepWholeBytes ? await file.readAll() : null;
  const hash = o.hash ? createHash('sha256') : null;
  if (whole) {
    scanner.push(whole);
    hash?.update(whole);
  } else {
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    let position = 0;
    for (;;) {
      const bytesRead = await file.read(chunk, 0, READ_CHUNK, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      scanner.push(chunk.subarray(0, bytesRead));
      hash?.update(chunk.subarray(0, bytesRead));
    }
  }
  const sha256 = hash ? hash.digest('hex') : null;
  return { whole, scan: scanner.end(), sha256 };
}

/** Reads exactly buf.length bytes at `position`. */
export async function readFully(file: InputFile, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const bytesRead = await file.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new FileFormatError(ErrorCodes.READ, 'file shrank while being read');
    done += bytesRead;
  }
}

/** The file's own gaps, from its row times (no coverage committed without PostgreSQL). */
export function ownGaps(scan: ScanResult, t: Thresholds): Finding[] {
  const { step, gaps } = fileGaps(
    scan.blocks.map((b) => b.epochs),
    EPOCH_MIN_VALID,
    t.gap_min_samples,
  );
  return gaps.map((g) => gapFinding(g, step));
}
