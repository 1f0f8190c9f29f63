/**
 * One error base class with a stable `code` per subclass (undici's model).
 * Codes are listed in docs/errors.md and covered by one table-driven test.
 */
export const ErrorCodes = {
  USAGE: 'PV_ERR_USAGE',
  CONFIG: 'PV_ERR_CONFIG',
  TIMEZONE: 'PV_ERR_TIMEZONE',
  PATH_LAYOUT: 'PV_ERR_PATH_LAYOUT',
  EMPTY_FILE: 'PV_ERR_EMPTY_FILE',
  BINARY_FILE: 'PV_ERR_BINARY_FILE',
  NO_HEADER: 'PV_ERR_NO_HEADER',
  BAD_HEADER: 'PV_ERR_BAD_HEADER',
  UNKNOWN_FORMAT: 'PV_ERR_UNKNOWN_FORMAT',
  NO_VALID_ROW: 'PV_ERR_NO_VALID_ROW',
  LINE_TOO_LONG: 'PV_ERR_LINE_TOO_LONG',
  READ: 'PV_ERR_READ',
  TENANT_NAME: 'PV_ERR_TENANT_NAME',
  STORE_UNAVAILABLE: 'PV_ERR_STORE_UNAVAILABLE',
  STORE_REJECTED: 'PV_ERR_STORE_REJECTED',
  STORE_PARTIAL: 'PV_ERR_STORE_PARTIAL',
  STORE_AUTH: 'PV_ERR_STORE_AUTH',
  VERIFY_MISMATCH: 'PV_ERR_VERIFY_MISMATCH',
  DATABASE: 'PV_ERR_DATABASE',
  DATABASE_UNAVAILABLE: 'PV_ERR_DATABASE_UNAVAILABLE',
  DATABASE_AUTH: 'PV_ERR_DATABASE_AUTH',
  NOT_MIGRATED: 'PV_ERR_NOT_MIGRATED',
  MIGRATION_FAILED: 'PV_ERR_MIGRATION_FAILED',
  MIGRATION_CHECKSUM: 'PV_ERR_MIGRATION_CHECKSUM',
  MIGRATION_UNKNOWN: 'PV_ERR_MIGRATION_UNKNOWN',
  GRAFANA_API: 'PV_ERR_GRAFANA_API',
  REPORT_EMPTY: 'PV_ERR_REPORT_EMPTY',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class PowerViewError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad command line or configuration: exit code 2, the message says what to fix. */
export class UsageError extends PowerViewError {
  constructor(message: string, code: ErrorCode = ErrorCodes.USAGE) {
    super(code, message);
  }
}

/** A file that cannot be read as a whole: it goes to error/ with this one-line cause. */
export class FileFormatError extends PowerViewError {
  /** 1-based line number the cause refers to, when there is one. */
  readonly line?: number;
  constructor(code: ErrorCode, message: string, line?: number) {
    super(code, message);
    if (line !== undefined) this.line = line;
  }
}

/** A company or campaign folder name that cannot serve as a database, bucket or tag name. */
export class TenantNameError extends PowerViewError {
  constructor(message: string) {
    super(ErrorCodes.TENANT_NAME, message);
  }
}

/**
 * An HTTP store (InfluxDB) answered or failed. `status` is 0 for a network
 * error; `body` is the server's reply as received (truncated), `lines` the
 * rejected line-protocol lines it named, when it named any.
 */
export class StoreError extends PowerViewError {
  readonly status: number;
  readonly body: string;
  readonly lines: string[];
  constructor(
    code: ErrorCode,
    message: string,
    fields: { status?: number; body?: string; lines?: string[]; cause?: unknown } = {},
  ) {
    super(code, message, { cause: fields.cause });
    this.status = fields.status ?? 0;
    this.body = fields.body ?? '';
    this.lines = fields.lines ?? [];
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
