/**
 * The watch past the kernel's inotify limit (docs/operations.md, memory
 * bounds): a device folder the kernel refuses a watch for (ENOSPC: too many
 * device folders for fs.inotify.max_user_watches) is said once in the log,
 * however many folders fail and however many rescans follow, and its files
 * are still found by the rescan. The refusal is simulated: `fs.watch` is
 * replaced for device folders (module.syncBuiltinESMExports), since lowering
 * the real limit would touch every process of the machine.
 */
import t from 'tap';
import fs, { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { RootWatch } from '../../src/service/watch.js';

t.test('a device folder past the inotify limit is told once in the log and still found by the rescan', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'pv-watch-limit-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const devices = [1, 2, 3].map((n) => join(root, 'co', 'camp', `dev${n}`));
  for (const d of devices) mkdirSync(d, { recursive: true });

  const realWatch = fs.watch;
  const refused: string[] = [];
  (fs as { watch: unknown }).watch = (path: fs.PathLike, ...rest: unknown[]) => {
    if (relative(root, String(path)).split(sep).length === 3) {
      refused.push(String(path));
      throw Object.assign(
        new Error(`ENOSPC: System limit for number of file watchers reached, watch '${String(path)}'`),
        { code: 'ENOSPC', errno: -28, syscall: 'watch' },
      );
    }
    return (realWatch as (...a: unknown[]) => fs.FSWatcher)(path, ...rest);
  };
  syncBuiltinESMExports();
  t.teardown(() => {
    (fs as { watch: unknown }).watch = realWatch;
    syncBuiltinESMExports();
  });

  const warnings: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  const log = {
    warn: (fields: Record<string, unknown>, msg: string) => warnings.push({ fields, msg }),
    info: () => {},
    debug: () => {},
    error: () => {},
  } as unknown as Logger;
  const got: string[] = [];
  const w = new RootWatch(root, {
    settleMs: 100,
    rescanMs: 3_600_000,
    knows: (p) => got.includes(p),
    onSettled: (p) => got.push(p),
    log,
  });
  w.start();
  t.teardown(() => w.stop());
  await w.rescan();
  const file = join(devices[1], 'a.tsv');
  writeFileSync(file, 'x\n');
  // no watch on the device folder: only a rescan sees the file
  await w.rescan();
  await w.rescan();
  for (let i = 0; i < 300 && !got.includes(file); i++) await sleep(100);

  t.ok(refused.length >= 3, `the device folders' watches were refused (${refused.length} times)`);
  t.equal(warnings.length, 1, 'told once, not per folder or per rescan');
  t.equal(warnings[0]?.fields.code, 'ENOSPC', 'with the cause');
  t.match(warnings[0]?.msg ?? '', /max_user_watches/, 'and what to raise');
  t.match(String(warnings[0]?.fields.folder), /dev\d$/, 'and the first folder left unwatched');
  t.same(got, [file], 'the file in the unwatched folder is found by the rescan');
});
