import { timingSafeEqual, createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIgnoredName, PROCESSED_DIRS } from '../pipeline/discover.js';

export { parseUserMap } from '../config/serve.js';

/** Largest hook body accepted: SFTPGo's notifications are well under 4 KiB. */
export const MAX_HOOK_BODY = 64 * 1024;

/** The fields of SFTPGo's action notification (custom actions and Event Manager HTTP actions) we use. */
export interface SftpgoEvent {
  action: string;
  username?: string;
  path?: string;
  target_path?: string;
  virtual_path?: string;
  virtual_target_path?: string;
  file_size?: number;
  /** 1 ok, 2 error, 3 quota exceeded */
  status?: number;
  timestamp?: number;
}

export class HookError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `Authorization: Bearer <secret>`, or basic auth whose password is the secret (SFTPGo's hook URL can carry
 * user:secret@).
 */
export function authorized(header: string | undefined, secret: string): boolean {
  if (!header) return false;
  let given: string | null = null;
  const m = /^(\w+)\s+(.+)$/.exec(header.trim());
  if (!m) return false;
  if (m[1].toLowerCase() === 'bearer') given = m[2];
  else if (m[1].toLowerCase() === 'basic') {
    const decoded = Buffer.from(m[2], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    given = i >= 0 ? decoded.slice(i + 1) : null;
  }
  if (given === null) return false;
  // equal-length digests: the comparison takes the same time whatever is wrong
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

/** Reads a body up to `limit` bytes; beyond it: 413 without reading the rest. */
export async function readBody(req: IncomingMessage, limit = MAX_HOOK_BODY): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit)
    throw new HookError(413, `body of ${declared} bytes: at most ${limit}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HookError(413, `body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Bounds of the hook's HTTP server: a client that has not sent its headers within HEADERS_TIMEOUT_MS is cut. */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The HTTP server of serve. Node checks the header and request timeouts only
 * every `connectionsCheckingInterval` (30 s by default): a slow client would be
 * cut after up to 40 s instead of 10. Checked every second here.
 */
export function hookServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  return createServer(
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
    handler,
  );
}

/**
 * The event's SFTPGo user must own the company folder it names: the folder is
 * the user's name, or the one the user map gives it. Otherwise 403 — a user
 * whose home is misconfigured (or a forged `path`) cannot feed another tenant.
 */
export function checkOwner(e: SftpgoEvent, company: string, userMap: ReadonlyMap<string, string>): void {
  if (!e.username) throw new HookError(400, '"username" is required');
  const allowed = userMap.get(e.username) ?? e.username;
  if (allowed !== company)
    throw new HookError(403, `user "${e.username}" may not write to company folder "${company}"`);
}

export function parseEvent(body: Buffer): SftpgoEvent {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HookError(400, `malformed JSON: ${(err as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HookError(400, 'the body must be a JSON object');
  const e = v as Record<string, unknown>;
  if (typeof e.action !== 'string' || !e.action) throw new HookError(400, '"action" (string) is required');
  for (const k of ['username', 'path', 'target_path', 'virtual_path', 'virtual_target_path'] as const) {
    if (e[k] !== undefined && e[k] !== null && typeof e[k] !== 'string')
      throw new HookError(400, `"${k}" must be a string`);
  }
  for (const k of ['file_size', 'status', 'timestamp'] as const) {
    if (e[k] !== undefined && e[k] !== null && typeof e[k] !== 'number')
      throw new HookError(400, `"${k}" must be a number`);
  }
  // SFTPGo always sends status (1 ok, 2 error, 3 quota exceeded): an upload without it is not SFTPGo's, nor known to be
  // complete
  if (e.action === 'upload' && (e.status === undefined || e.status === null))
    throw new HookError(400, '"status" is required for an upload (1: completed)');
  return e as unknown as SftpgoEvent;
}

/**
 * The absolute path an event names, inside the data root, or a 4xx: the
 * filesystem path (`path`, or `target_path` for a rename), else the user's
 * home `<root>/<username>` + `virtual_path`. `..` segments, paths elsewhere
 * and symlinks leading out of the root are refused.
 */
export function pathInRoot(rootReal: string, e: SftpgoEvent): string {
  const rename = e.action === 'rename';
  const fsPath = rename ? e.target_path : e.path;
  const virtual = rename ? e.virtual_target_path : e.virtual_path;
  let candidate: string;
  if (fsPath) {
    if (!isAbsolute(fsPath)) throw new HookError(400, `"${rename ? 'target_path' : 'path'}" must be absolute`);
    if (fsPath.split(/[\\/]/).includes('..')) throw new HookError(403, 'path with ".." refused');
    candidate = resolve(fsPath);
  } else if (virtual && e.username) {
    if (virtual.split(/[\\/]/).includes('..') || e.username.includes('/') || e.username === '..')
      throw new HookError(403, 'path with ".." refused');
    candidate = resolve(join(rootReal, e.username, virtual));
  } else {
    throw new HookError(400, '"path" (or "username" and "virtual_path") is required');
  }
  if (candidate.includes('\0')) throw new HookError(400, 'NUL in path');
  if (!inside(rootReal, candidate)) throw new HookError(403, 'path outside the data root refused');
  // the real location, through any symlink (the file may already be gone: then its folder)
  // synchronous, as every metadata look-up on the data root (util/fs-meta.ts)
  let real: string;
  try {
    real = realpathSync.native(candidate);
  } catch {
    try {
      real = join(realpathSync.native(dirname(candidate)), candidate.slice(dirname(candidate).length + 1));
    } catch {
      real = candidate;
    }
  }
  if (!inside(rootReal, real)) throw new HookError(403, 'path leads outside the data root (symlink) refused');
  // a symlink within the root (into another tenant's folder, say) is no upload of this path either
  if (real !== candidate) throw new HookError(403, 'path through a symlink refused');
  return real;
}

function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** What a path under the root is: a device file, a `<company>/<campaign>` folder, a company folder, or neither. */
export function classify(
  rootReal: string,
  abs: string,
): { kind: 'file' | 'campaign' | 'company' | 'other'; parts: string[] } {
  const parts = relative(rootReal, abs).split(sep);
  if (parts.some((p) => isIgnoredName(p))) return { kind: 'other', parts };
  if (parts.length === 4 && !PROCESSED_DIRS.has(parts[2]) && !PROCESSED_DIRS.has(parts[3]))
    return { kind: 'file', parts };
  if (parts.length === 2) return { kind: 'campaign', parts };
  if (parts.length === 1) return { kind: 'company', parts };
  return { kind: 'other', parts };
}
