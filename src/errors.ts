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
  READ: 'PV_ERR_READ',
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

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
