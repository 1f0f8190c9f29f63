// bench/watcher-compare.mjs: RootWatch (per-folder fs.watch) against @parcel/watcher, each alone, on one root
// (docs/benchmarks.md, bench/watch-scale). @parcel/watcher is not a dependency of the project: install it in a
// scratch folder and run from there, after `npx tsc -p .` here:
//   mkdir /tmp/pw && cd /tmp/pw && npm init -y && npm install @parcel/watcher
//   node <project>/bench/watcher-compare.mjs build /tmp/pw/full/root 200000     # 10 × 4 × 50 device folders
//   node <project>/bench/watcher-compare.mjs rootwatch /tmp/pw/full/root
//   cp <project>/bench/watcher-compare.mjs /tmp/pw/ && node /tmp/pw/watcher-compare.mjs parcel|parcel-ignore /tmp/pw/full/root
// Prints one JSON line: start-up time and CPU, RSS growth, inotify watches, rename → callback latency of 50 files.
import { linkSync, mkdirSync, readdirSync, readlinkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
const [mode, root, n] = process.argv.slice(2);
if (mode === 'build') {
  // 10 companies × 4 campaigns × 50 devices, `n` files in parsed/ (hard links to one file per 200 devices)
  rmSync(root, { recursive: true, force: true });
  const src = join(root, '..', 'src');
  mkdirSync(src, { recursive: true });
  for (let c = 0; c < 10; c++) for (let k = 0; k < 4; k++) for (let d = 0; d < 50; d++) {
    const i = (c * 4 + k) * 50 + d;
    const dev = join(root, `co${c}`, `camp${k}`, String(21000000 + i));
    mkdirSync(join(dev, 'parsed'), { recursive: true });
    if (i % 200 === 0) writeFileSync(join(src, `s${i}`), 'x\n');
    for (let f = 0; f < Number(n) / 2000; f++) linkSync(join(src, `s${i - (i % 200)}`), join(dev, 'parsed', `T302_${String(f).padStart(4, '0')}.tsv`));
  }
  process.exit(0);
}
const inotify = () => { let n = 0; for (const fd of readdirSync('/proc/self/fd')) { try { if (readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:inotify') continue; n += readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length; } catch { /* the fd closed meanwhile */ } } return n; };
const rss = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const devices = [];
for (const c of readdirSync(root)) for (const k of readdirSync(join(root, c))) for (const d of readdirSync(join(root, c, k))) devices.push(join(root, c, k, d));
const rss0 = rss(); const cpu0 = cpu();
const waiting = new Map(); const lat = [];
const seen = (p) => { const t = waiting.get(p); if (t !== undefined) { lat.push(performance.now() - t); waiting.delete(p); } };
const t0 = performance.now();
let stop;
if (mode.startsWith('parcel')) {
  const { subscribe } = await import('@parcel/watcher');
  const sub = await subscribe(root, (err, events) => { for (const e of events) if (e.type === 'create') seen(e.path); }, mode === 'parcel-ignore' ? { ignore: ['**/parsed', '**/error'] } : {});
  stop = () => sub.unsubscribe();
} else {
  const { RootWatch } = await import(join(fileURLToPath(import.meta.url), '..', '..', 'dist', 'src', 'service', 'watch.js'));
  const w = new RootWatch(root, { settleMs: 0, rescanMs: 1e9, knows: () => false, onSettled: (p) => seen(p) });
  w.start(); await w.rescan();
  stop = () => w.stop();
}
const startMs = performance.now() - t0; const cpuStart = cpu() - cpu0;
global.gc?.();
const out = { mode, start_ms: Math.round(startMs), cpu_s: +cpuStart.toFixed(2), rss_mb_growth: +(rss() - rss0).toFixed(1), inotify_watches: inotify() };
for (let i = 0; i < 50; i++) {
  const dev = devices[i * 7 % devices.length]; const p = join(dev, `T302_live_${process.pid}_${i}.tsv`);
  writeFileSync(join(dev, `.sftpgo-upload.${i}`), 'x\n'); waiting.set(p, performance.now()); renameSync(join(dev, `.sftpgo-upload.${i}`), p);
  await new Promise((r) => setTimeout(r, 100));
}
for (let i = 0; i < 100 && waiting.size; i++) await new Promise((r) => setTimeout(r, 50));
lat.sort((a, b) => a - b);
out.events = `${lat.length}/50`; out.event_p50_ms = +lat[Math.floor(lat.length / 2)]?.toFixed(1); out.event_p95_ms = +lat[Math.floor(lat.length * 0.95)]?.toFixed(1);
await stop();
console.log(JSON.stringify(out));
process.exit(0);
