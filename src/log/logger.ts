import { pino, type Logger } from 'pino';
import { ErrorCodes, UsageError } from '../errors.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `--log-level`, else POWERVIEW_LOG_LEVEL, else info; anything else is a configuration error. */
export function parseLogLevel(text: string | undefined): LogLevel {
  const level = text || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(
      `--log-level / POWERVIEW_LOG_LEVEL must be ${LOG_LEVELS.slice(0, -1).join(', ')} or silent, got "${level}"`,
      ErrorCodes.CONFIG,
    );
  }
  return level as LogLevel;
}

/**
 * The structured log (pino, JSON lines) of every command: to `file` when given (created with its
 * folder), else to stderr. Asynchronous writes: call `flush()` before the process exits.
 */
export function makeLogger(level: LogLevel, file: string | null): Logger {
  const dest = file
    ? pino.destination({ dest: file, mkdir: true, sync: false })
    : pino.destination({ fd: 2, sync: false });
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}
