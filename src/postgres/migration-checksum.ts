import { createHash } from 'node:crypto';

/**
 * Migration checksums that a comment edit does not change. An applied
 * migration must not change (its effect is already in the database), but
 * its comments may: they are documentation, and citing a moved document must
 * not force a new migration. What is hashed is the SQL as PostgreSQL's lexer
 * sees it: comments (`-- …` to end of line, nested `/* … *\/`) dropped outside
 * string literals, quoted identifiers and dollar quotes (function bodies are
 * kept byte for byte); outside them, blanks collapsed to one space, line ends
 * trimmed and empty lines dropped.
 */

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The checksum recorded for a migration since comments stopped counting. */
export function sqlChecksum(sql: string): string {
  return sha256(normalizeSql(sql));
}

/** The checksum recorded before: the whole text (CRLF read as LF). Still accepted, then replaced. */
export function fileChecksum(sql: string): string {
  return sha256(sql);
}

const isBlank = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v';
const isIdentChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/** The end (exclusive) of the quoted token starting at `i`, or of the text when it is not closed. */
function quotedEnd(sql: string, i: number): number {
  const q = sql[i];
  // E'…' takes backslash escapes: \' does not close it
  const escapes = q === "'" && (sql[i - 1] === 'E' || sql[i - 1] === 'e') && !isIdentChar(sql[i - 2]);
  for (let j = i + 1; j < sql.length; j++) {
    if (escapes && sql[j] === '\\') j++;
    else if (sql[j] === q) {
      if (sql[j + 1] !== q) return j + 1;
      j++; // '' or "" inside the token
    }
  }
  return sql.length;
}

/** The end (exclusive) of the block comment starting at `i`; PostgreSQL's nest. */
function blockCommentEnd(sql: string, i: number): number {
  let depth = 0;
  for (let j = i; j < sql.length - 1; j++) {
    if (sql[j] === '/' && sql[j + 1] === '*') {
      depth++;
      j++;
    } else if (sql[j] === '*' && sql[j + 1] === '/') {
      depth--;
      j++;
      if (depth === 0) return j + 1;
    }
  }
  return sql.length;
}

/** The SQL without comments and without whitespace that carries no meaning (see the module comment). */
export function normalizeSql(sql: string): string {
  const lines: string[] = [];
  let line = '';
  let space = false;
  const endLine = (): void => {
    if (line) lines.push(line);
    line = '';
    space = false;
  };
  const emit = (text: string): void => {
    if (space && line) line += ' ';
    space = false;
    line += text;
  };
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    let end: number;
    if (c === '\n') {
      endLine();
      i++;
      continue;
    }
    if (isBlank(c)) {
      space = true;
      i++;
      continue;
    }
    if (c === '-' && next === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl;
      continue;
    }
    if (c === '/' && next === '*') {
      // a comment separates tokens as a blank does
      space = true;
      i = blockCommentEnd(sql, i);
      continue;
    }
    if (c === "'" || c === '"') end = quotedEnd(sql, i);
    else if (c === '$' && !isIdentChar(sql[i - 1]) && DOLLAR_TAG.test(sql.slice(i, i + 64))) {
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 64))![0];
      const close = sql.indexOf(tag, i + tag.length);
      end = close < 0 ? sql.length : close + tag.length;
    } else end = i + 1;
    // a quoted token may span lines: kept whole, on the current output line
    emit(sql.slice(i, end));
    i = end;
  }
  endLine();
  return lines.join('\n');
}
