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

/**
 * A migration could not be applied; `file` names it, `line` (1-based) points
 * into it when the server gave a position.
 */
export class MigrationError extends DatabaseError {
  readonly file?: string;
  readonly line?: number;
  constructor(
    code: ErrorCode,
    message: string,
    fields: { file?: string; line?: number; sqlState?: string; cause?: unknown } = {},
  ) {
    super(code, message, fields);
    if (fields.file !== undefined) this.file = fields.file;
    if (fields.line !== undefined) this.line = fields.line;
  }
}

/**
 * Whose a PostgreSQL failure is, during ingestion (docs/errors.md, "Whose
 * failure is it"). `file`: the data itself was refused (a value, a
 * constraint): the file fails alone, with the cause. `credentials`: the login
 * was refused: serve waits it out. `store`: everything else — PostgreSQL is
 * cancelling, timing out, full, read-only, shutting down, unreachable or took
 * a permission away: the file is kept in place and retried.
 * The first matching row wins; a SQLSTATE no row names is the store's.
 */
export type FailureOwner = 'file' | 'credentials' | 'store';

export const PG_FAILURE_OWNERS: ReadonlyArray<{ sqlStates: readonly string[]; owner: FailureOwner; cause: string }> = [
  { sqlStates: ['22xxx'], owner: 'file', cause: 'data exception (a value PostgreSQL refuses)' },
  { sqlStates: ['23xxx'], owner: 'file', cause: 'integrity constraint violation' },
  { sqlStates: ['54xxx'], owner: 'file', cause: 'program limit exceeded' },
  { sqlStates: ['28000', '28P01'], owner: 'credentials', cause: 'credentials refused' },
  { sqlStates: ['3D000'], owner: 'credentials', cause: 'database does not exist' },
  { sqlStates: ['57014'], owner: 'store', cause: 'statement cancelled or timed out' },
  { sqlStates: ['55P03'], owner: 'store', cause: 'lock timeout' },
  { sqlStates: ['40001', '40P01'], owner: 'store', cause: 'serialization failure or deadlock' },
  {
    sqlStates: ['53xxx'],
    owner: 'store',
    cause: 'insufficient resources (disk full, out of memory, too many connections)',
  },
  { sqlStates: ['25006'], owner: 'store', cause: 'read-only transaction (after a failover)' },
  {
    sqlStates: ['57P01', '57P02', '57P03', '57P04'],
    owner: 'store',
    cause: 'session terminated or server shutting down',
  },
  { sqlStates: ['08xxx'], owner: 'store', cause: 'connection exception' },
  { sqlStates: ['42501'], owner: 'store', cause: 'permission denied (a grant taken away)' },
];

/** `22xxx` matches a class, `57014` one code. */
const matches = (pattern: string, code: string): boolean => {
  for (let i = 0; i < pattern.length; i++) if (pattern[i] !== 'x' && pattern[i] !== code[i]) return false;
  return true;
};

/**
 * Whose failure `err` is (see PG_FAILURE_OWNERS). Without a SQLSTATE: a
 * socket error or a connection lost mid-transaction is the store's; anything
 * else thrown while handling a file (a TypeError, a RangeError) is the file's.
 */
export function failureOwner(err: unknown): { owner: FailureOwner; cause: string } {
  const e = (err ?? {}) as PgLikeError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (err instanceof DatabaseError) {
    if (err.code === ErrorCodes.DATABASE_AUTH) return { owner: 'credentials', cause: 'credentials refused' };
    if (err.code === ErrorCodes.DATABASE_UNAVAILABLE) return { owner: 'store', cause: 'unreachable' };
    if (err.sqlState) return failureOwner({ code: err.sqlState });
  }
  if (code && /^[0-9A-Z]{5}$/.test(code)) {
    for (const row of PG_FAILURE_OWNERS)
      if (row.sqlStates.some((p) => matches(p, code))) return { owner: row.owner, cause: row.cause };
    return { owner: 'store', cause: `SQLSTATE ${code}` };
  }
  if (code && NETWORK_CODES.has(code)) return { owner: 'store', cause: 'unreachable' };
  if (LOST_CONNECTION.test(e.message ?? '')) return { owner: 'store', cause: 'connection lost' };
  return { owner: 'file', cause: 'error while handling the file' };
}

/** node-postgres and pg-pool messages of a session that is gone or never came (no SQLSTATE). */
const LOST_CONNECTION = new RegExp(
  [
    'Connection terminated',
    'connection timeout',
    'timeout exceeded when trying to connect',
    'Client has encountered a connection error',
    'Client was closed',
    'Cannot use a pool after calling end',
    'not queryable',
    'terminated',
    'ECONNREFUSED',
    'ECONNRESET',
    'EPIPE',
    'socket hang up',
  ].join('|'),
  'i',
);

/** SQLSTATEs meaning "could not get a working session": class 08, shutdown/startup (57P0x), too many connections. */
const UNAVAILABLE_STATES = /^(08|57P0[1-4]|53300)/;
/** Node socket errors meaning the server is not there (yet). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

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
    return new DatabaseError(ErrorCodes.DATABASE_UNAVAILABLE, `${where}: PostgreSQL unreachable (${code}: ${text})`, {
      cause: err,
    });
  }
  if (!code || !/^[0-9A-Z]{5}$/.test(code)) {
    if (/timeout|terminated|Connection terminated|ECONNREFUSED/i.test(text)) {
      return new DatabaseError(ErrorCodes.DATABASE_UNAVAILABLE, `${where}: PostgreSQL unreachable (${text})`, {
        cause: err,
      });
    }
    return new DatabaseError(ErrorCodes.DATABASE, `${where}: ${text}`, { cause: err });
  }
  if (code === '28P01' || code === '28000' || code === '3D000') {
    return new DatabaseError(ErrorCodes.DATABASE_AUTH, `${where}: ${text} (SQLSTATE ${code})`, {
      sqlState: code,
      cause: err,
    });
  }
  if (UNAVAILABLE_STATES.test(code)) {
    return new DatabaseError(ErrorCodes.DATABASE_UNAVAILABLE, `${where}: ${text} (SQLSTATE ${code})`, {
      sqlState: code,
      cause: err,
    });
  }
  const detail = e.detail ? ` — ${e.detail}` : '';
  return new DatabaseError(ErrorCodes.DATABASE, `${where}: ${text}${detail} (SQLSTATE ${code})`, {
    sqlState: code,
    cause: err,
  });
}
