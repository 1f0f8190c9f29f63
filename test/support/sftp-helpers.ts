/**
 * The real OpenSSH SFTP client against the real sftp-server, over a pipe,
 * no sshd and no hooks (test/sftp-*.test.ts): `sftp -b <batch> -D <server>`,
 * optionally through test/support/sftp-stall-proxy.ts (the client's stream held for
 * a while mid-upload). The data root is written by sftp-server exactly as a
 * plain OpenSSH SFTP server writes it.
 */
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { servicesSkip, pointsOf } from './services.js';
import type { Expected, ServeDb } from './serve-harness.js';

export const SFTP_SERVER = process.env.POWERVIEW_SFTP_SERVER ?? '/usr/lib/openssh/sftp-server';
const SFTP = process.env.POWERVIEW_SFTP ?? '/usr/bin/sftp';

/** skip reason when the services are skipped or OpenSSH's sftp / sftp-server are absent (ops/services.sh install installs them) */
export const sftpSkip: string | false =
  servicesSkip ||
  (!existsSync(SFTP_SERVER)
    ? `${SFTP_SERVER} absent (Debian openssh-sftp-server; ops/services.sh install installs it): real-SFTP tests skipped`
    : false) ||
  (!existsSync(SFTP)
    ? `${SFTP} absent (Debian openssh-client; ops/services.sh install installs it): real-SFTP tests skipped`
    : false);

const proxy = fileURLToPath(new URL('./sftp-stall-proxy.js', import.meta.url));

export interface SftpRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the batch `commands` (sftp's batch syntax: put, rename, `!sleep 3`…)
 * with the real client; `stall`: the client's stream is held after
 * `afterBytes` bytes, `holdMs` ms or (an absolute path) until that file exists. Resolves when the client exits.
 */
export function runSftp(
  t: Test,
  dir: string,
  name: string,
  commands: string[],
  stall?: { afterBytes: number; holdMs: number | string },
): Promise<SftpRun> & { child: ReturnType<typeof spawn> } {
  const batch = join(dir, `${name}.sftp-batch`);
  writeFileSync(batch, `${commands.join('\n')}\n`);
  const server = stall
    ? `${process.execPath} ${proxy} ${stall.afterBytes} ${stall.holdMs} ${SFTP_SERVER}`
    : SFTP_SERVER;
  const child = spawn(SFTP, ['-b', batch, '-D', server], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let done = false;
  const p = new Promise<SftpRun>((resolve) =>
    child.on('exit', (code) => ((done = true), resolve({ code, stdout, stderr }))),
  );
  t.teardown(() => {
    if (!done) child.kill('SIGKILL');
  });
  return Object.assign(p, { child });
}

/** InfluxDB holds exactly the expected distinct points with their values; PostgreSQL's hourly samples and sums match. */
export async function checkPoints(t: Test, db: ServeDb, tenant: string, expected: Expected): Promise<void> {
  const found = await pointsOf(db.env, tenant);
  let missing = 0;
  let wrong = 0;
  for (const [k, v] of expected.points) {
    const got = found.get(k);
    if (got === undefined) missing++;
    else if (got !== v) wrong++;
  }
  t.equal(found.size, expected.points.size, `InfluxDB: ${expected.points.size} distinct points`);
  t.equal(missing, 0, 'no point missing in InfluxDB');
  t.equal(wrong, 0, 'every value as in the file');
  const hourly = await db.pool.query<{ k: string; samples: string; sum: number }>(
    `SELECT device_master_sn || ' ' || channel_id || ' ' || extract(epoch from hour)::bigint AS k, samples, sum_value AS sum
       FROM core.hourly WHERE tenant = $1`,
    [tenant],
  );
  const total = hourly.rows.reduce((s, r) => s + Number(r.samples), 0);
  t.equal(total, expected.points.size, 'PostgreSQL: hourly samples sum to the distinct points');
  let bad = 0;
  for (const r of hourly.rows) {
    const e = expected.hourly.get(r.k);
    if (!e || e.samples !== Number(r.samples) || Math.abs(e.sum - r.sum) > 1e-6 * Math.max(1, Math.abs(e.sum))) bad++;
  }
  t.equal(hourly.rows.length, expected.hourly.size, 'PostgreSQL: one hourly row per device, channel and hour');
  t.equal(bad, 0, 'hourly samples and sums as those of the distinct points');
}

/**
 * The write sizes of the real client: 32 KiB, or 255 KiB (261,120 bytes) once
 * OpenSSH's sftp-server announces its limits (limits@openssh.com).
 */
export const SFTP_WRITE_SIZES = [32768, 261120];

/** whether every offset where one of those writes ends is mid-line: a stalled upload is cut there */
export function cutsMidLine(bytes: Buffer, chunks = SFTP_WRITE_SIZES): boolean {
  for (const chunk of chunks)
    for (let end = chunk; end < bytes.length; end += chunk) if (bytes[end - 1] === 10) return false;
  return true;
}
