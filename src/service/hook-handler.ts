import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import {
  HookError,
  authorized,
  checkOwner,
  classify,
  parseEvent,
  pathInRoot,
  readBody,
  type SftpgoEvent,
} from './hook.js';
import type { Journal, JournalEvent } from './journal.js';
import { send } from './http.js';
import { lstatOrNull } from '../util/fs-meta.js';
import { stampOf, type FileStamp } from './settle.js';

/** What the hook needs of serve. */
export interface HookContext {
  rootReal: string;
  hookSecret: string;
  hookUserMap: ReadonlyMap<string, string>;
  metrics: Metrics;
  log?: Logger;
  journal: Journal;
  draining(): boolean;
  /** an upload event names the file: what it saw of it (null: gone already); not the watch's any more */
  announced(path: string, st: FileStamp | null): void;
  /** queues the event in memory: false when it is a duplicate */
  accept(e: JournalEvent): boolean;
}

const ACTIONS = new Set([
  'upload',
  'mkdir',
  'rename',
  'delete',
  'download',
  'rmdir',
  'pre-upload',
  'pre-download',
  'pre-delete',
  'ssh_cmd',
]);

type Reply = (status: number, body: Record<string, unknown>, action?: string, result?: string) => void;

/**
 * `POST /hooks/sftpgo`: an SFTPGo event, authorized, its path checked (in the
 * data root, no symlink, owned by the event's user), queued and journaled:
 * 200 only once it is durable (docs/architecture.md, durability points).
 */
export async function handleHook(ctx: HookContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const reply: Reply = (status, body, action = 'unknown', result = 'refused') => {
    ctx.metrics.hookEvents.inc({ action: ACTIONS.has(action) ? action : 'other', result });
    const challenge = { 'www-authenticate': 'Bearer realm="powerview", Basic realm="powerview"' };
    send(res, status, body, status === 401 ? challenge : {});
  };
  if (!authorized(req.headers.authorization, ctx.hookSecret)) {
    req.resume();
    return reply(401, { error: 'missing or wrong hook secret' });
  }
  let event: SftpgoEvent;
  try {
    event = parseEvent(await readBody(req));
  } catch (err) {
    if (!(err instanceof HookError)) throw err;
    if (err.status === 413) res.setHeader('connection', 'close');
    return reply(err.status, { error: err.message });
  }
  const action = event.action;
  if (ctx.draining()) return reply(503, { error: 'stopping: retry later' }, action, 'refused');
  let je: JournalEvent | null;
  try {
    je = journalEventOf(ctx, event);
  } catch (err) {
    if (!(err instanceof HookError)) throw err;
    return reply(err.status, { error: err.message }, action);
  }
  if (!je) return reply(200, { result: 'ignored' }, action, 'ignored');
  if (je.kind === 'upload' && action === 'upload' && event.status !== 1)
    return reply(200, { result: 'ignored', reason: `upload status ${event.status}` }, action, 'ignored');
  await enqueue(ctx, je, action, reply);
}

/**
 * The event's path, checked, as the journal event to queue: an upload (or a rename onto a device file) or a
 * provisioning mkdir; null for anything else. Throws a HookError (logged) when the path is refused.
 */
function journalEventOf(ctx: HookContext, event: SftpgoEvent): JournalEvent | null {
  const action = event.action;
  let path: string;
  try {
    path = pathInRoot(ctx.rootReal, event);
  } catch (err) {
    if (err instanceof HookError)
      ctx.log?.warn({ event: 'hook_refused', action, status: err.status, error: err.message }, 'hook refused');
    throw err;
  }
  const { kind, parts } = classify(ctx.rootReal, path);
  if ((action === 'upload' || action === 'rename' || action === 'mkdir') && kind !== 'other') {
    try {
      checkOwner(event, parts[0], ctx.hookUserMap);
    } catch (err) {
      if (err instanceof HookError)
        ctx.log?.warn(
          { event: 'hook_refused', action, status: err.status, username: event.username, path, error: err.message },
          'hook refused',
        );
      throw err;
    }
  }
  if ((action === 'upload' || action === 'rename') && kind === 'file') return { kind: 'upload', path, at: Date.now() };
  if (action === 'mkdir' && (kind === 'campaign' || kind === 'company'))
    return { kind: 'provision', path, at: Date.now() };
  return null;
}

/** In memory first (a file may be taken at once), then on disk: 200 only once it is durable. */
async function enqueue(ctx: HookContext, je: JournalEvent, action: string, reply: Reply): Promise<void> {
  if (je.kind === 'upload') {
    // what the event announces: a replay after a crash takes it without a settle only if the file is still this one
    const st = lstatOrNull(je.path);
    if (st) Object.assign(je, { size: st.size, ino: st.ino, mtimeMs: st.mtimeMs });
    ctx.announced(je.path, st && stampOf(st));
  }
  const isNew = ctx.accept(je);
  try {
    await ctx.journal.append(je);
  } catch (err) {
    ctx.log?.error({ event: 'journal', error: errorMessage(err) }, 'event not written to the journal');
    return reply(503, { error: `event not queued durably: ${errorMessage(err)}` }, action, 'refused');
  }
  ctx.log?.info({ event: 'hook', action, path: je.path, duplicate: !isNew }, 'hook event queued');
  reply(200, { result: 'queued', duplicate: !isNew }, action, 'queued');
}
