import { statSync, type Stats } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { lstatOrNull } from '../util/fs-meta.js';
import type { FileTask } from '../pipeline/pipeline.js';

export type TakeCheck = { ok: true; st: Stats } | { ok: false; why: 'gone' | 'symlink' | 'outside' };

/**
 * Is `path` a regular file reached from `rootReal` (a real path: no symlink
 * in it) through no symlink at all, right now? The scheduler asks just
 * before a file is handed on, whoever queued it (a hook checked its path with
 * pathInRoot, but a folder or the file may have been swapped for a symlink
 * since). One lstat per component below the root (synchronous: util/fs-meta.ts), no realpath of the whole
 * path and no second stat; the file's lstat is its size.
 */
export function checkTake(rootReal: string, path: string): TakeCheck {
  const rel = relative(rootReal, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return { ok: false, why: 'outside' };
  let at = rootReal;
  let st: Stats | null = null;
  for (const part of rel.split(sep)) {
    at = join(at, part);
    st = lstatOrNull(at);
    if (!st) return { ok: false, why: 'gone' };
    // the file, or a folder of its path, is a symlink: its target is not this device's upload, never read it
    if (st.isSymbolicLink()) return { ok: false, why: 'symlink' };
  }
  if (!st?.isFile()) return { ok: false, why: 'gone' };
  return { ok: true, st };
}

/**
 * Does the path hold another file than the one the pipeline read (task.taken), or, unknown, was it announced
 * meanwhile? The scheduler asks when a file is done: a new version renamed over it is ingested next.
 */
export function replacedSince(task: FileTask, announced: boolean): boolean {
  if (!task.taken && !announced) return false;
  let st;
  try {
    st = statSync(task.path);
  } catch {
    return false;
  }
  if (!st.isFile()) return false;
  const t = task.taken;
  if (!t) return announced;
  return st.dev !== t.dev || st.ino !== t.ino || st.size !== t.size || st.mtimeMs !== t.mtimeMs;
}
