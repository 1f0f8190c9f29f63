import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from './helpers.js';

/**
 * A TCP port that several test files need (9464: the address the local
 * Prometheus scrapes), taken by one test process at a time: a lock folder
 * holding the owner's pid, taken over when that process is gone. Take it
 * after servicesUp() (which holds the services lock) to keep one lock order.
 * Resolves to a release function (also run at process exit).
 */
export async function lockPort(port: number, timeoutMs = 300_000): Promise<() => void> {
  const dir = join(projectRoot, '.powerview', `port-${port}.lock`);
  mkdirSync(join(projectRoot, '.powerview'), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      const release = (): void => rmSync(dir, { recursive: true, force: true });
      process.on('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder = 0;
      try {
        holder = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      } catch {
        // being created or removed right now
      }
      let alive = false;
      try {
        if (holder) process.kill(holder, 0);
        alive = holder > 0;
      } catch {
        alive = false;
      }
      if (holder && !alive) rmSync(dir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`port ${port} is held by test process ${holder} (${dir})`);
      else await sleep(250);
    }
  }
}
