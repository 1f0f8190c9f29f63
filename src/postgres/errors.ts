import { ErrorCodes, PowerViewError, type ErrorCode } from '../errors.js';

/**
 * PostgreSQL failed or refused. `sqlState` is the server's SQLSTATE when the
 * server answered (node-postgres keeps it as `code`), else undefined (network).
 */
export class DatabaseError extends PowerViewError {
  readonly sqlState?: string;
  constructor(code: ErrorCode, message: string, fields: { sqlState?: string; cause?: unknown } = {}) {
    super(code, message, { cause: fields.cause });
    if (fields.sqlState !== undefined) this.sqlState = fields.sqlState;
  }
}

/** A migration could not be applied; `file` names it, `line` (1-based) points into it when the server gave a position. */
export class MigrationError extends DatabaseError {
  readonly file?: string;
  readonly line?: number;
  constructor(code: ErrorCode, message: string, fields: { file?: string; line?: number; sqlState?: string; cause?: unknown } = {}) {
    super(code, message, fields);
    if (fields.file !== undefined) this.file = fields.file;
    if (fields.line !== undefined) this.line = fields.line;
  }
}

/** SQLSTATEs meaning "could not get a working session": class 08, shutdown/startup (57P0x), too many connections. */
const UNAVAILABLE_STATES = /^(08|57P0[1-4]|53300)/;
/** Node socket errors meaning the server is not there (yet). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

interface PgLikeError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
}

/**
 * Wraps anything node-postgres throws into a DatabaseError with a stable code
 * and the SQLSTATE. `where` says what we were doing ("migrate", "connect to …").
 * Messages come from the server or the socket, never from our configuration,
 * so they cannot carry the password.
 */
export function toDatabaseError(err: unknown, where: string): DatabaseError {
  if (err instanceof DatabaseError) return err;
  const e = (err ?? {}) as PgLikeError;
  const text = e.message || String(err);
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && NETWORK_CODES.has(code)) {
    return new DatabaseError(ErrorCodes.DATABASE_UNAVAILABLE, `${where}: PostgreSQL unreachable (${code}: ${text})`, { cause: err });
  }
  if (!code || !/^[0-9A-Z]{5}$/.test(code)) {
    if (/timeout|terminated|Connection terminated|ECONNREFUSED/i.test(text)) {
      return new DatabaseError(ErrorCodes.DATABASE_UNAVAILABLE, `${where}: PostgreSQL unreachable (${text})`, { cause: err });
    }
    return new DatabaseError(ErrorCodes.DATABASE, `${where}: ${text}`, { cause: err });
  }
  if (code === '28P01' || code === '28000' || code === '3D000') {
    return new DatabaseError(ErrorCodes.DATABASE_AUTH, `${where}: ${text} (SQLSTATE ${code})`, { sqlState: code, cause: err });
  }
  if (UNAVAILABLE_STATES.test(code)) {
    return new DatabaseError(ErrorCodes.DATABASE_UNAVAILABLE, `${where}: ${text} (SQLSTATE ${code})`, { sqlState: code, cause: err });
  }
  const detail = e.detail ? ` — ${e.detail}` : '';
  return new DatabaseError(ErrorCodes.DATABASE, `${where}: ${text}${detail} (SQLSTATE ${code})`, { sqlState: code, cause: err });
}
